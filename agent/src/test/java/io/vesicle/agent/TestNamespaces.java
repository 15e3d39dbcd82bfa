package io.vesicle.agent;

import io.vesicle.loader.NetNs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Network namespaces, bpffs pin directories and scratch directories of one test, named
 * {@code vt<pid>x<random>-...} and removed on close; leftovers of killed runs (whose pid is gone)
 * are removed on first use. Nothing here touches the root namespace's links or routes.
 */
final class TestNamespaces implements AutoCloseable {
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Path BPFFS = Path.of("/sys/fs/bpf");
    private static final Path TMP = Path.of("/tmp");
    private static final Pattern OURS = Pattern.compile("vt(\\d+)x.*");
    private static final long PID = ProcessHandle.current().pid();
    private static boolean swept;

    final String prefix;
    private final Deque<String> namespaces = new ArrayDeque<>();
    private final Deque<NetNs> handles = new ArrayDeque<>();
    private final Deque<Path> trees = new ArrayDeque<>();

    TestNamespaces() {
        sweep();
        prefix = "vt" + PID + "x" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
    }

    /** Creates prefix-name with lo up; returns its full name. */
    String namespace(String name) {
        String full = prefix + "-" + name;
        run("ip", "netns", "add", full);
        namespaces.push(full);
        run("ip", "-n", full, "link", "set", "lo", "up");
        return full;
    }

    /** Deletes a namespace early (a pod going away). */
    void delete(String full) {
        run("ip", "netns", "del", full);
        namespaces.remove(full);
    }

    /** Creates a namespace deleted earlier again, under the same name. */
    void recreate(String full) {
        run("ip", "netns", "add", full);
        namespaces.push(full);
    }

    static Path path(String full) {
        return NETNS_DIR.resolve(full);
    }

    NetNs open(String full) {
        NetNs ns = NetNs.named(full);
        handles.push(ns);
        return ns;
    }

    /** A not yet existing directory on bpffs, removed with its pins. */
    Path pinRoot() {
        Path dir = BPFFS.resolve(prefix + "-" + trees.size());
        trees.push(dir);
        return dir;
    }

    /** A fresh scratch directory under /tmp (short: unix socket paths are limited to 107 bytes). */
    Path scratch() {
        Path dir = TMP.resolve(prefix + "-" + trees.size());
        trees.push(dir);
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        while (!handles.isEmpty()) {
            handles.pop().close();
        }
        while (!namespaces.isEmpty()) {
            runQuietly("ip", "netns", "del", namespaces.pop());
        }
        while (!trees.isEmpty()) {
            deleteTree(trees.pop());
        }
    }

    record Result(int exit, String output) {
        boolean ok() {
            return exit == 0;
        }
    }

    /** Runs a command (never a shell), output and errors together; waits at most 60 s. */
    static Result runQuietly(String... command) {
        return runQuietly(List.of(command));
    }

    static Result runQuietly(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(-1, "timed out: " + command);
            }
            return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String run(String... command) {
        Result result = runQuietly(command);
        if (!result.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + result.exit() + ": "
                    + result.output());
        }
        return result.output();
    }

    /** command run in the named namespace's network namespace (nsenter, never ip netns exec). */
    static List<String> in(String full, String... command) {
        List<String> list = new ArrayList<>(List.of("nsenter", "--net=" + path(full), "--"));
        list.addAll(List.of(command));
        return list;
    }

    static boolean ping(String fromNamespace, String address) {
        return runQuietly(in(fromNamespace, "ping", "-c", "1", "-W", "1", address)).ok();
    }

    private static synchronized void sweep() {
        if (swept) {
            return;
        }
        swept = true;
        for (Path dir : List.of(NETNS_DIR, BPFFS, TMP)) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> entries = Files.list(dir)) {
                for (Path p : entries.toList()) {
                    Matcher m = OURS.matcher(p.getFileName().toString());
                    if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                        if (dir.equals(NETNS_DIR)) {
                            runQuietly("ip", "netns", "del", p.getFileName().toString());
                        } else {
                            deleteTree(p);
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root, e);
        }
    }
}
