package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
    /** How long a server may take to listen on a busy machine. */
    private static final Duration LISTEN_WITHIN = Duration.ofSeconds(20);

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
        Process server = startServer(serverNetns, serverPort);
        try {
            awaitListening(server, serverNetns, serverPort);
            List<String> cmd = new ArrayList<>(Shell.inNetns(clientNetns, "iperf3", "-c", target, "-p",
                    String.valueOf(targetPort), "-t", "1", "-J"));
            if (udp) {
                cmd.addAll(List.of("-u", "-b", "50M"));
            }
            Shell.Result client = Shell.run(30, cmd);
            // iperf3 -J may exit 0 with an "error" member: both are checked.
            if (!client.ok() || client.stdout().contains("\"error\"")) {
                throw new IllegalStateException("iperf3 exited " + client.exitCode() + ": " + client.stdout()
                        + client.stderr());
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
        } finally {
            Shell.killTree(server.toHandle());
        }
    }

    /** iperf3 -s for one test on port in netns; its output is discarded. */
    private static Process startServer(String netns, int port) {
        try {
            return new ProcessBuilder(Shell.inNetns(netns, "iperf3", "-s", "-1", "-p", String.valueOf(port)))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start iperf3", e);
        }
    }

    /**
     * Polls (ss, in the server's namespace) until the server listens on port; fails when it
     * exits first or does not listen within LISTEN_WITHIN. iperf3 takes its control connection
     * over TCP for UDP tests too.
     */
    private static void awaitListening(Process server, String netns, int port) {
        Poll.until("iperf3 -s listening on port " + port + " in " + netns, LISTEN_WITHIN, () -> {
            if (!server.isAlive()) {
                throw new IllegalStateException("iperf3 -s on port " + port + " in " + netns + " exited "
                        + server.exitValue());
            }
            Shell.Result ss = Shell.run(10, Shell.inNetns(netns, "ss", "-Hltn", "sport = :" + port));
            return ss.ok() && !ss.stdout().isBlank();
        });
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

        /** Whether the client still sends (it exits once its time is up). */
        public boolean running() {
            return client.isAlive();
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
        int port = 20000 + (int) (Math.random() * 20000);
        Process server = network.own(startServer(serverNetns, port));
        awaitListening(server, serverNetns, port);
        List<String> cmd = new ArrayList<>(Shell.inNetns(clientNetns, "iperf3", "-c", serverIp, "-p",
                String.valueOf(port), "-t", String.valueOf(seconds), "-i", "1", "-J"));
        try {
            Process client = network.own(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start());
            return new Stream(server, client);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start iperf3", e);
        }
    }
}
