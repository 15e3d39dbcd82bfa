package io.vesicle.tests.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Echo requests every 50 ms from a namespace to an address until stopped: a witness that traffic
 * keeps flowing through an event (an agent killed, etcd down). Stopped with SIGINT, ping prints
 * how many it sent and how many came back.
 */
public final class ContinuousPing {
    private static final Pattern SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

    private final String label;
    private final Process ping;

    /** What a run came to: requests sent and replies received. */
    public record Result(String label, int transmitted, int received) {
        public int lost() {
            return transmitted - received;
        }

        @Override
        public String toString() {
            return label + ": " + received + "/" + transmitted + " replies";
        }
    }

    private ContinuousPing(String label, Process ping) {
        this.label = label;
        this.ping = ping;
    }

    /** Starts pinging target from netns (the process belongs to network). */
    public static ContinuousPing start(TestNetwork network, String label, String netns, String target) {
        try {
            // nsenter execs ping: the process is ping itself, so SIGINT reaches it.
            Process p = network.own(new ProcessBuilder(Shell.inNetns(netns, "ping", "-q", "-n", "-i", "0.05", target))
                    .redirectErrorStream(true).start());
            p.getOutputStream().close();
            return new ContinuousPing(label, p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start ping", e);
        }
    }

    /** Stops it (SIGINT) and reads its summary. */
    public Result stop() {
        Shell.run("kill", "-INT", String.valueOf(ping.pid()));
        try {
            if (!ping.waitFor(10, TimeUnit.SECONDS)) {
                Shell.killTree(ping.toHandle());
                throw new IllegalStateException(label + ": ping did not stop on SIGINT");
            }
            String out = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Matcher m = SUMMARY.matcher(out);
            if (!m.find()) {
                throw new IllegalStateException(label + ": no summary from ping: " + out);
            }
            return new Result(label, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new IllegalStateException(label + ": cannot read ping's output", e);
        }
    }
}
