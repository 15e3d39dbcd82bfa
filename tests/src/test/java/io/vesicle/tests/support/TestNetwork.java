package io.vesicle.tests.support;

import io.vesicle.loader.NetNs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Namespaces and bpffs directories one test creates, all named with a prefix carrying this JVM's
 * pid ({@code vt<pid>x<random>}), and all removed on close, on success and on failure. Leftovers of
 * runs whose JVM is gone are removed on first use, so a killed run never breaks the next.
 */
public final class TestNetwork implements AutoCloseable {
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Path BPFFS = Path.of("/sys/fs/bpf");
    private static final Pattern OURS = Pattern.compile("vt(\\d+)x.*");
    private static final long PID = ProcessHandle.current().pid();
    private static volatile boolean swept;

    private final String prefix;
    private final Deque<String> namespaces = new ArrayDeque<>();
    private final Deque<NetNs> handles = new ArrayDeque<>();
    private final Deque<Path> pinDirs = new ArrayDeque<>();

    public TestNetwork() {
        sweepLeftovers();
        this.prefix = "vt" + PID + "x" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
    }

    /** The unique prefix of this network's names. */
    public String prefix() {
        return prefix;
    }

    /** Creates namespace prefix-name and returns its name. */
    public String namespace(String name) {
        String full = prefix + "-" + name;
        Shell.check("ip", "netns", "add", full);
        namespaces.push(full);
        Shell.check("ip", "-n", full, "link", "set", "lo", "up");
        return full;
    }

    /** An open handle on one of this network's namespaces, closed with it. */
    public NetNs open(String fullName) {
        NetNs ns = NetNs.named(fullName);
        handles.push(ns);
        return ns;
    }

    /** A fresh directory on bpffs for pins, removed with everything under it. */
    public Path pinRoot() {
        Path dir = BPFFS.resolve(prefix + "-" + pinDirs.size());
        pinDirs.push(dir);
        return dir;
    }

    @Override
    public void close() {
        while (!handles.isEmpty()) {
            handles.pop().close();
        }
        while (!namespaces.isEmpty()) {
            Shell.run("ip", "netns", "del", namespaces.pop());
        }
        while (!pinDirs.isEmpty()) {
            deleteTree(pinDirs.pop());
        }
    }

    private static synchronized void sweepLeftovers() {
        if (swept) {
            return;
        }
        swept = true;
        for (Path dir : new Path[] {NETNS_DIR, BPFFS}) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> entries = Files.list(dir)) {
                entries.filter(TestNetwork::isOrphan).forEach(p -> {
                    if (dir.equals(NETNS_DIR)) {
                        Shell.run("ip", "netns", "del", p.getFileName().toString());
                    } else {
                        deleteTree(p);
                    }
                });
            } catch (IOException e) {
                throw new IllegalStateException("cannot list " + dir, e);
            }
        }
    }

    private static boolean isOrphan(Path path) {
        Matcher m = OURS.matcher(path.getFileName().toString());
        return m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty();
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
