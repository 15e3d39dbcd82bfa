package io.vesicle.tests;

import io.vesicle.tests.support.Shell;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One short iperf3 run between two namespaces, as a traffic witness. */
final class Iperf {
    private static final Pattern RECEIVED = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bytes\"\\s*:\\s*(\\d+)");
    private static final Pattern UDP_SUM = Pattern.compile("\"sum\"\\s*:\\s*\\{[^}]*?\"bytes\"\\s*:\\s*(\\d+)");

    record Result(long bytes) {
    }

    private Iperf() {
    }

    static Result run(String serverNetns, String clientNetns, String serverIp, boolean udp) {
        String port = String.valueOf(20000 + (int) (Math.random() * 20000));
        Process server;
        try {
            server = new ProcessBuilder(Shell.inNetns(serverNetns, "iperf3", "-s", "-1", "-p", port))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
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
}
