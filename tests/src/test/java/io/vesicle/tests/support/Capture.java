package io.vesicle.tests.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A packet capture with tshark, the independent witness of what goes over a wire: started on one
 * interface of a namespace with a capture filter, stopped, and read back as the fields of each
 * packet, outer and inner headers alike (UDP 8472 is decoded as VXLAN, Linux's port, not IANA's
 * 4789).
 */
public final class Capture implements AutoCloseable {
    /** One frame: its IPv4 sources and destinations outermost first, UDP destination ports, VXLAN VNI or -1. */
    public record Frame(List<String> ipSources, List<String> ipDestinations, List<Integer> udpDestinationPorts,
                        long vni) {
        public boolean vxlan() {
            return vni >= 0;
        }

        /** The innermost source and destination: the packet the sender meant. */
        public String innerSource() {
            return ipSources.isEmpty() ? "" : ipSources.get(ipSources.size() - 1);
        }

        public String innerDestination() {
            return ipDestinations.isEmpty() ? "" : ipDestinations.get(ipDestinations.size() - 1);
        }

        public String outerSource() {
            return ipSources.isEmpty() ? "" : ipSources.get(0);
        }

        public String outerDestination() {
            return ipDestinations.isEmpty() ? "" : ipDestinations.get(0);
        }
    }

    private final Process tshark;
    private final Path stderr;
    private final List<Frame> frames = new ArrayList<>();
    private final Thread reader;

    private Capture(Process tshark, Path stderr) {
        this.tshark = tshark;
        this.stderr = stderr;
        this.reader = new Thread(this::read, "tshark-output");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts tshark on iface in netns with a capture filter (pcap syntax); returns once it
     * captures. The process belongs to network.
     */
    public static Capture start(TestNetwork network, String netns, String iface, String filter) {
        Path dir = network.tempDir("capture-" + iface + "-" + System.nanoTime());
        Path err = dir.resolve("tshark.err");
        List<String> command = Shell.inNetns(netns, "tshark", "-n", "-l", "-i", iface, "-f", filter,
                "-d", "udp.port==8472,vxlan", "-T", "fields", "-E", "separator=;", "-E", "occurrence=a",
                "-e", "ip.src", "-e", "ip.dst", "-e", "udp.dstport", "-e", "vxlan.vni");
        Process process;
        try {
            process = network.own(new ProcessBuilder(command).redirectError(err.toFile()).start());
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start tshark: " + e.getMessage(), e);
        }
        Capture capture = new Capture(process, err);
        Poll.until("tshark capturing on " + iface + " in " + netns, Duration.ofSeconds(30), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("tshark exited " + process.exitValue() + ": " + capture.errors());
            }
            // "Capturing on" comes before dumpcap has its socket; "Capture started" once it captures.
            return capture.errors().contains("Capture started");
        });
        return capture;
    }

    /**
     * Waits until the frames seen so far satisfy wanted (tshark reads what dumpcap captured with a
     * lag, more so on a busy machine); false when they do not within the bound.
     */
    public boolean awaitFrames(Predicate<List<Frame>> wanted, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            List<Frame> seen;
            synchronized (frames) {
                seen = List.copyOf(frames);
            }
            if (wanted.test(seen)) {
                return true;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return false;
    }

    /** Stops the capture (SIGINT, as at a terminal: tshark prints what it still holds) and returns every frame. */
    public List<Frame> stop() {
        Shell.run("kill", "-INT", String.valueOf(tshark.pid()));
        try {
            if (!tshark.waitFor(20, TimeUnit.SECONDS)) {
                Shell.killTree(tshark.toHandle());
            }
            reader.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        synchronized (frames) {
            return List.copyOf(frames);
        }
    }

    /** What tshark said on stderr. */
    public String errors() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            return "";
        }
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(tshark.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.split(";", -1);
                if (f.length < 4) {
                    continue;
                }
                Frame frame = new Frame(list(f[0]), list(f[1]), list(f[2]).stream().map(Integer::valueOf).toList(),
                        f[3].isEmpty() ? -1 : Long.parseLong(f[3].split(",")[0]));
                synchronized (frames) {
                    frames.add(frame);
                }
            }
        } catch (IOException ignored) {
            // tshark ended.
        }
    }

    private static List<String> list(String commaSeparated) {
        return commaSeparated.isEmpty() ? List.of() : Arrays.asList(commaSeparated.split(","));
    }

    @Override
    public void close() {
        if (tshark.isAlive()) {
            Shell.killTree(tshark.toHandle());
        }
    }
}
