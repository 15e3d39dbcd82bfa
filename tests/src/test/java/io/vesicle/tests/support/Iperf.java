package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** iperf3 between two namespaces as a traffic witness: one short run, or a stream left running. */
public final class Iperf {
    private static final Pattern RECEIVED = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bytes\"\\s*:\\s*(\\d+)");
    private static final Pattern UDP_SUM = Pattern.compile("\"sum\"\\s*:\\s*\\{[^}]*?\"bytes\"\\s*:\\s*(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Result(long bytes) {
    }

    private Iperf() {
    }

    public static Result run(String serverNetns, String clientNetns, String serverIp, boolean udp) {
        int port = 20000 + (int) (Math.random() * 20000);
        return run(serverNetns, port, clientNetns, serverIp, port, udp);
    }

    /**
     * One second of traffic from clientNetns to target:targetPort, served in serverNetns on
     * serverPort (they differ when something in between translates, e.g. a port mapping).
     */
    public static Result run(String serverNetns, int serverPort, String clientNetns, String target, int targetPort,
                             boolean udp) {
        String port = String.valueOf(targetPort);
        String serverIp = target;
        Process server;
        try {
            server = new ProcessBuilder(Shell.inNetns(serverNetns, "iperf3", "-s", "-1", "-p",
                    String.valueOf(serverPort))).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot start iperf3", e);
        }
        try {
            Shell.Result client = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                List<String> cmd = udp
                        ? Shell.inNetns(clientNetns, "iperf3", "-c", serverIp, "-p", port, "-t", "1", "-u", "-b", "50M", "-J")
                        : Shell.inNetns(clientNetns, "iperf3", "-c", serverIp, "-p", port, "-t", "1", "-J");
                client = Shell.run(20, cmd);
                // iperf3 -J may exit 0 with an "error" member (e.g. the server not listening yet).
                if (client.ok() && !client.stdout().contains("\"error\"")) {
                    break;
                }
                Thread.sleep(100); // the server may not listen yet
            }
            if (client == null || !client.ok() || client.stdout().contains("\"error\"")) {
                throw new IllegalStateException("iperf3 failed: " + (client == null ? "" : client.stdout()));
            }
            // The summary at the end comes after the per-interval sums: take the last match.
            Matcher m = (udp ? UDP_SUM : RECEIVED).matcher(client.stdout());
            long bytes = -1;
            while (m.find()) {
                bytes = Long.parseLong(m.group(1));
            }
            if (bytes < 0) {
                throw new IllegalStateException("no byte count in iperf3 output: " + client.stdout());
            }
            return new Result(bytes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            server.destroyForcibly();
        }
    }

    /**
     * What one TCP stream did, from the client's -J report: bytes sent and received over the
     * whole run, the sender's retransmits, the number of per-second intervals and the fewest bytes
     * in one of them, the retransmits of each interval, and iperf3's error (null when none).
     */
    public record Summary(long bytesSent, long bytesReceived, long retransmits, int intervals, long minIntervalBytes,
                          List<Long> intervalRetransmits, String error, int exitCode) {
        public boolean completed() {
            return exitCode == 0 && error == null && bytesReceived > 0;
        }
    }

    /** A TCP stream running in the background; its server and client belong to the network. */
    public static final class Stream {
        private final Process client;
        private final Process server;
        private final java.util.concurrent.CompletableFuture<String> out = new java.util.concurrent.CompletableFuture<>();

        private Stream(Process server, Process client) {
            this.server = server;
            this.client = client;
            Thread reader = new Thread(() -> {
                try (var in = client.getInputStream()) {
                    out.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    out.complete("");
                }
            }, "iperf3-client-output");
            reader.setDaemon(true);
            reader.start();
        }

        /** Waits for the client's report (at most timeoutSeconds) and reads it. */
        public Summary await(int timeoutSeconds) {
            try {
                if (!client.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    Shell.killTree(client.toHandle());
                    throw new IllegalStateException("iperf3 client still running after " + timeoutSeconds + " s");
                }
                String text = out.get(10, TimeUnit.SECONDS);
                JsonNode json = JSON.readTree(text);
                JsonNode end = json.path("end");
                long minInterval = Long.MAX_VALUE;
                int intervals = 0;
                List<Long> retransmits = new ArrayList<>();
                for (JsonNode interval : json.path("intervals")) {
                    intervals++;
                    minInterval = Math.min(minInterval, interval.path("sum").path("bytes").asLong());
                    retransmits.add(interval.path("sum").path("retransmits").asLong());
                }
                String error = json.hasNonNull("error") ? json.get("error").asText() : null;
                return new Summary(end.path("sum_sent").path("bytes").asLong(), end.path("sum_received").path("bytes").asLong(),
                        end.path("sum_sent").path("retransmits").asLong(), intervals,
                        intervals == 0 ? 0 : minInterval, retransmits, error, client.exitValue());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (Exception e) {
                throw new IllegalStateException("no iperf3 report: " + out.getNow("(none)"), e);
            } finally {
                Shell.killTree(server.toHandle());
            }
        }
    }

    /**
     * Starts a server in serverNetns (one test, then it exits) and a client in clientNetns that
     * sends to serverIp for seconds, one report per second; returns once the server listens and the
     * client is started. Both processes are owned by network, so they die with it.
     */
    public static Stream startTcp(TestNetwork network, String serverNetns, String clientNetns, String serverIp,
                                  int seconds) {
        String port = String.valueOf(20000 + (int) (Math.random() * 20000));
        try {
            Process server = network.own(new ProcessBuilder(Shell.inNetns(serverNetns, "iperf3", "-s", "-1", "-p", port))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            for (int i = 0; i < 100; i++) {
                if (Shell.run(10, Shell.inNetns(serverNetns, "ss", "-Hltn", "sport = :" + port)).stdout().contains(port)) {
                    break;
                }
                Thread.sleep(50);
            }
            List<String> cmd = new ArrayList<>(Shell.inNetns(clientNetns, "iperf3", "-c", serverIp, "-p", port, "-t",
                    String.valueOf(seconds), "-i", "1", "-J"));
            Process client = network.own(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start());
            return new Stream(server, client);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start iperf3", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
