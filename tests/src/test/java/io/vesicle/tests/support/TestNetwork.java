package io.vesicle.tests.support;

import io.vesicle.loader.NetNs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Namespaces, bpffs directories, temporary (and in-memory) directories and processes one test
 * creates, all named with a prefix carrying this JVM's pid ({@code vt<pid>x<random>}), and all removed (processes
 * killed) on close, on success and on failure. Leftovers of runs whose JVM is gone are removed on
 * first use, so a killed run never breaks the next: their namespaces, pin directories, temporary
 * directories, and processes whose command line names one of their paths (an agent's config) or
 * that live in one of their namespaces (iperf3, sockperf); the same for the agent module's tests,
 * the demo and the benchmarks (see RUNS).
 */
public final class TestNetwork implements AutoCloseable {
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Path BPFFS = Path.of("/sys/fs/bpf");
    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));
    private static final Path SHM = Path.of("/dev/shm");
    /**
     * The names runs give what they create: these tests and the agent's ({@code vt<pid>x}), the
     * demo ({@code vdemo<pid>}) and the benchmarks ({@code vbench<pid>}); group 1 is the pid.
     */
    private static final Pattern RUNS = Pattern.compile("(?:vt(?=\\d+x)|vdemo|vbench)(\\d+)(?=[x/\\-\\x00]|$)");
    private static final long PID = ProcessHandle.current().pid();
    private static volatile boolean swept;

    private final String prefix;
    private final Deque<String> namespaces = new ArrayDeque<>();
    private final Deque<NetNs> handles = new ArrayDeque<>();
    private final Deque<Path> pinDirs = new ArrayDeque<>();
    private final Deque<Path> tempDirs = new ArrayDeque<>();
    private final Deque<Process> processes = new ArrayDeque<>();

    public TestNetwork() {
        sweepLeftovers();
        this.prefix = "vt" + PID + "x" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
    }

    /** The unique prefix of this network's names. */
    public String prefix() {
        return prefix;
    }

    /** Creates namespace prefix-name and returns its name. */
    public synchronized String namespace(String name) {
        String full = prefix + "-" + name;
        Shell.check("ip", "netns", "add", full);
        namespaces.push(full);
        Shell.check("ip", "-n", full, "link", "set", "lo", "up");
        return full;
    }

    /** An open handle on one of this network's namespaces, closed with it. */
    public synchronized NetNs open(String fullName) {
        NetNs ns = NetNs.named(fullName);
        handles.push(ns);
        return ns;
    }

    /** A fresh directory on bpffs for pins, removed with everything under it. */
    public synchronized Path pinRoot() {
        Path dir = BPFFS.resolve(prefix + "-" + pinDirs.size());
        pinDirs.push(dir);
        return dir;
    }

    /** A fresh directory (mode 0700) under java.io.tmpdir, removed with everything under it. */
    public synchronized Path tempDir(String name) {
        return createDir(TMP, name);
    }

    /**
     * A fresh directory (mode 0700) in memory ({@code /dev/shm}), removed with everything under it:
     * for data whose fsyncs must not wait on a disk other builds keep busy (etcd's).
     */
    public synchronized Path memoryDir(String name) {
        return createDir(SHM, name);
    }

    private Path createDir(Path parent, String name) {
        Path dir = parent.resolve(prefix + "-" + name);
        try {
            Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dir, e);
        }
        tempDirs.push(dir);
        return dir;
    }

    /** Makes process this network's: it and its descendants are killed (SIGKILL) on close. */
    public synchronized Process own(Process process) {
        processes.push(process);
        return process;
    }

    /** The process exited by itself: it is no longer this network's to kill. */
    public synchronized void release(Process process) {
        processes.remove(process);
    }

    @Override
    public void close() {
        synchronized (this) {
            while (!processes.isEmpty()) {
                Shell.killTree(processes.pop().toHandle());
            }
        }
        while (!handles.isEmpty()) {
            handles.pop().close();
        }
        while (!namespaces.isEmpty()) {
            Shell.run("ip", "netns", "del", namespaces.pop());
        }
        while (!pinDirs.isEmpty()) {
            deleteTree(pinDirs.pop());
        }
        while (!tempDirs.isEmpty()) {
            deleteTree(tempDirs.pop());
        }
    }

    private static synchronized void sweepLeftovers() {
        if (swept) {
            return;
        }
        swept = true;
        List<Path> orphanNamespaces = orphans(NETNS_DIR);
        killOrphanProcesses(orphanNamespaces);
        orphanNamespaces.forEach(ns -> Shell.run("ip", "netns", "del", ns.getFileName().toString()));
        for (Path dir : new Path[] {BPFFS, TMP, SHM}) {
            orphans(dir).forEach(TestNetwork::deleteTree);
        }
    }

    /** The entries of dir named by a run whose process is gone. */
    private static List<Path> orphans(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> orphanRun(p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }

    /** Whether name starts with a prefix of these tests, the agent's tests, the demo or a benchmark, of a dead pid. */
    private static boolean orphanRun(String name) {
        Matcher m = RUNS.matcher(name);
        return m.lookingAt() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty();
    }

    /**
     * Ends, by pid, the processes of runs whose JVM (or script) is gone: those whose command line
     * names one of the run's paths (an agent's config), and those living in one of its network
     * namespaces (iperf3, sockperf, a plugin), found by the namespace's inode.
     */
    private static void killOrphanProcesses(List<Path> orphanNamespaces) {
        Set<String> namespaces = new HashSet<>();
        for (Path ns : orphanNamespaces) {
            namespaces.add(inode(ns));
        }
        Pattern path = Pattern.compile("/" + RUNS.pattern());
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                String cmdline;
                String netns;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    netns = inode(p.resolve("ns/net"));
                } catch (IOException | RuntimeException e) {
                    return; // gone meanwhile, or a kernel thread
                }
                Matcher m = path.matcher(cmdline);
                boolean orphanPath = m.find() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty();
                if (orphanPath || namespaces.contains(netns)) {
                    ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(Shell::killTree);
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
    }

    /** Device and inode of a namespace file: what identifies the namespace. */
    private static String inode(Path nsFile) {
        try {
            Object dev = Files.getAttribute(nsFile, "unix:dev");
            Object ino = Files.getAttribute(nsFile, "unix:ino");
            return dev + ":" + ino;
        } catch (IOException e) {
            throw new IllegalStateException("cannot stat " + nsFile, e);
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new IllegalStateException("cannot remove " + p, e);
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot remove " + root, e);
        }
    }
}
