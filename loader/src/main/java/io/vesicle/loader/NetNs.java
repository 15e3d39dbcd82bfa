package io.vesicle.loader;

import java.nio.file.Path;

/**
 * An open handle on a network namespace (a file such as {@code /var/run/netns/X} or
 * {@code /proc/PID/ns/net}). Natives that take one enter it with {@code setns} on the calling
 * thread for that one operation and return before handing control back to Java, so no Java code
 * ever runs in a foreign namespace. {@code null} where a NetNs is taken means the caller's own.
 */
public final class NetNs implements AutoCloseable {
    private static final Path NAMED_DIR = Path.of("/var/run/netns");

    private final Path path;
    private final OwnedFd fd;

    private NetNs(Path path, int fd) {
        this.path = path;
        this.fd = new OwnedFd(fd, "network namespace handle " + path);
    }

    /** Opens the namespace file at path. */
    public static NetNs open(Path path) {
        NativeLibrary.ensureAvailability();
        int fd = Errors.check(open0(path.toString()), "open network namespace " + path);
        return new NetNs(path, fd);
    }

    /** Opens a namespace created by {@code ip netns add NAME}. */
    public static NetNs named(String name) {
        return open(NAMED_DIR.resolve(name));
    }

    /** The descriptor natives take; -1 for {@code null}, the caller's own namespace. */
    public static int fdOf(NetNs ns) {
        return ns == null ? -1 : ns.fd();
    }

    /** Describes a namespace for messages. */
    public static String describe(NetNs ns) {
        return ns == null ? "the current network namespace" : "network namespace " + ns.path;
    }

    public int fd() {
        return fd.get();
    }

    public Path path() {
        return path;
    }

    /**
     * Writes a sysctl under {@code /proc/sys/net} as the namespace sees it, e.g.
     * {@code writeSysctl("ipv4/ip_forward", "1")}.
     */
    public static void writeSysctl(NetNs ns, String key, String value) {
        if (key.contains("..")) {
            throw new IllegalArgumentException("sysctl key " + key + " must stay under /proc/sys/net");
        }
        Errors.check(writeSysctl0(fdOf(ns), "/proc/sys/net/" + key, value),
                "write net." + key.replace('/', '.') + "=" + value + " in " + describe(ns));
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "NetNs[" + path + "]";
    }

    private static native int open0(String path);

    private static native int writeSysctl0(int nsFd, String path, String value);
}
