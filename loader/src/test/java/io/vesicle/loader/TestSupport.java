package io.vesicle.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Test helpers: external witnesses (ip, tc), throwaway pin dirs, temporary directories, network
 * namespaces and processes. Their names carry this JVM's pid ({@code vsl-t<pid>x…},
 * {@code vsl-test-<pid>x…}, {@code vsl-tmp-<pid>x…}): what a killed run left behind is removed
 * when the next run first uses these helpers, and its processes ended, but never what a live
 * run owns.
 */
final class TestSupport {
    static final String BPF_LXC = "/META-INF/bpf/bpf_lxc.o";
    static final String BAD_PROG = "/bpf/bad_prog.o";
    static final String OTHER_TYPES = "/bpf/other_types.o";
    static final String CONST_NOBTF = "/bpf/const_nobtf.o";
    static final String WRONG_HOOK = "/bpf/wrong_hook.o";
    static final Path BPFFS = Path.of("/sys/fs/bpf");
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));
    private static final long PID = ProcessHandle.current().pid();
    private static final String NETNS_PREFIX = "vsl-t";
    private static final String PIN_PREFIX = "vsl-test-";
    private static final String TMP_PREFIX = "vsl-tmp-";
    /** A name one of these helpers gave, and the pid of the JVM that gave it. */
    private static final Pattern OURS = Pattern.compile("(?:vsl-test-|vsl-tmp-|vsl-t)(\\d+)x[0-9a-f]");

    static {
        sweepLeftovers();
    }

    private TestSupport() {
    }

    static String random() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    }

    /** A fresh namespace name, not yet created. */
    static String netnsName() {
        return NETNS_PREFIX + PID + "x" + random();
    }

    /** A fresh, not yet created directory under /sys/fs/bpf. */
    static Path pinDir() {
        return BPFFS.resolve(PIN_PREFIX + PID + "x" + random());
    }

    /** A fresh directory (0700) under java.io.tmpdir; remove it with {@link #deleteTree}. */
    static Path tempDir() {
        Path dir = TMP.resolve(TMP_PREFIX + PID + "x" + random());
        try {
            return Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ends the process and its descendants, and waits for them. */
    static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("process " + process.pid() + " did not end", e);
        }
    }

    /**
     * Removes what runs whose JVM is gone left behind: namespaces, pin dirs, temporary dirs (bpffs
     * mounted on them first unmounted), and ends their processes (those whose command line names
     * one of their namespaces).
     */
    private static void sweepLeftovers() {
        endOrphanProcesses();
        forEachOrphan(NETNS_DIR, NETNS_PREFIX, path -> runQuietly("ip", "netns", "del", path.getFileName().toString()));
        forEachOrphan(BPFFS, PIN_PREFIX, TestSupport::deleteTreeQuietly);
        forEachOrphan(TMP, TMP_PREFIX, dir -> {
            for (String mount : mountsUnder(dir)) {
                runQuietly("umount", "-l", mount);
            }
            deleteTreeQuietly(dir);
        });
    }

    private static void forEachOrphan(Path dir, String prefix, java.util.function.Consumer<Path> remove) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            entries.filter(path -> path.getFileName().toString().startsWith(prefix) && isOrphan(path.toString()))
                    .forEach(remove);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether text holds a name given by a JVM that is gone. */
    private static boolean isOrphan(String text) {
        Matcher m = OURS.matcher(text);
        while (m.find()) {
            long pid = Long.parseLong(m.group(1));
            if (pid != PID && ProcessHandle.of(pid).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static void endOrphanProcesses() {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                } catch (IOException | RuntimeException e) {
                    return; // gone meanwhile
                }
                if (isOrphan(cmdline)) {
                    ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(process -> {
                        process.descendants().forEach(ProcessHandle::destroyForcibly);
                        process.destroyForcibly();
                    });
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Mount points at or below dir, deepest first. */
    private static List<String> mountsUnder(Path dir) {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .map(line -> line.split(" ")[4])
                    .filter(mount -> mount.equals(dir.toString()) || mount.startsWith(dir + "/"))
                    .sorted(Comparator.reverseOrder())
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTreeQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (UncheckedIOException e) {
            // The next run tries again.
        }
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
        final String name = netnsName();
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
