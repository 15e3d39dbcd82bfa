package io.vesicle.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Test helpers: external witnesses (ip, tc), throwaway pin dirs and network namespaces. */
final class TestSupport {
    static final String BPF_LXC = "/META-INF/bpf/bpf_lxc.o";
    static final String BAD_PROG = "/bpf/bad_prog.o";
    static final Path BPFFS = Path.of("/sys/fs/bpf");

    private TestSupport() {
    }

    static String random() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    }

    /** A fresh, not yet created directory under /sys/fs/bpf. */
    static Path pinDir() {
        return BPFFS.resolve("vsl-test-" + random());
    }

    /** Deletes dir and everything in it; quiet when it does not exist. */
    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command, returning its output; fails the test when it exits non-zero. */
    static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " timed out");
            }
            if (process.exitValue() != 0) {
                throw new AssertionError(String.join(" ", command) + " exited " + process.exitValue() + ": " + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs a command for cleanup: failures are ignored. */
    static void runQuietly(String... command) {
        try {
            run(command);
        } catch (RuntimeException | AssertionError ignored) {
            // Best effort.
        }
    }

    /** A network namespace created with ip netns add; close deletes it. */
    static final class TestNetns implements AutoCloseable {
        final String name = "vsl-t" + random();
        final NetNs ns;

        TestNetns() {
            run("ip", "netns", "add", name);
            try {
                ns = NetNs.named(name);
            } catch (RuntimeException e) {
                runQuietly("ip", "netns", "del", name);
                throw e;
            }
        }

        /** Creates a veth pair inside the namespace, both ends up; returns the first end's ifindex. */
        int veth(String device, String peer) {
            run("ip", "-n", name, "link", "add", device, "type", "veth", "peer", "name", peer);
            run("ip", "-n", name, "link", "set", device, "up");
            run("ip", "-n", name, "link", "set", peer, "up");
            return ifindex(device);
        }

        int ifindex(String device) {
            String json = run("ip", "-n", name, "-j", "link", "show", "dev", device);
            Matcher m = Pattern.compile("\"ifindex\":(\\d+)").matcher(json);
            if (!m.find()) {
                throw new AssertionError("no ifindex in " + json);
            }
            return Integer.parseInt(m.group(1));
        }

        /** Lines of {@code tc filter show dev DEVICE ingress|egress} naming a filter handle. */
        List<String> filters(String device, TcDirection direction) {
            String output = run("tc", "-n", name, "filter", "show", "dev", device,
                    direction == TcDirection.INGRESS ? "ingress" : "egress");
            return output.lines().filter(line -> line.contains("handle")).toList();
        }

        String qdiscs(String device) {
            return run("tc", "-n", name, "qdisc", "show", "dev", device);
        }

        @Override
        public void close() {
            try {
                ns.close();
            } finally {
                runQuietly("ip", "netns", "del", name);
            }
        }
    }

    static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    /** An endpoint_info value (32 bytes, see bpf/include/endpoint.h). */
    static ByteBuffer endpointInfo(byte[] ip4, int ifindex, int endpointId, byte[] mac, byte[] nodeMac) {
        ByteBuffer value = direct(32);
        value.put(0, ip4);
        value.putInt(4, ifindex);
        value.putInt(8, endpointId);
        value.putInt(12, 0);
        value.putInt(16, 0);
        value.put(20, mac);
        value.put(26, nodeMac);
        return value;
    }

    /** An endpoint_key for an IPv4 address (20 bytes). */
    static ByteBuffer endpointKey(byte[] ip4) {
        ByteBuffer key = direct(20);
        key.put(0, ip4);
        key.put(16, (byte) 4);
        return key;
    }

    static byte[] bytes(ByteBuffer buffer, int offset, int length) {
        byte[] bytes = new byte[length];
        buffer.get(offset, bytes);
        return bytes;
    }
}
