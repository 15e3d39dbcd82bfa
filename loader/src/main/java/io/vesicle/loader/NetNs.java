package io.vesicle.loader;

import java.nio.file.Path;

/**
 * An open handle on a network namespace (a file such as {@code /var/run/netns/X} or
 * {@code /proc/PID/ns/net}), checked by what was opened, not by its path: a file on nsfs whose
 * namespace type is net. Natives that take one enter it with {@code setns} on the calling
 * thread for that one operation and return before handing control back to Java, so no Java code
 * ever runs in a foreign namespace. {@code null} where a NetNs is taken means the caller's own.
 */
public final class NetNs implements AutoCloseable {
    private static final Path NAMED_DIR = Path.of("/var/run/netns");
    private static final Path THREAD_SELF = Path.of("/proc/thread-self/ns/net");
    private static final Path INIT = Path.of("/proc/1/ns/net");
    /** statfs f_type of nsfs (NSFS_MAGIC in linux/magic.h). */
    static final long NSFS_MAGIC = 0x6e736673L;
    private static final int CLONE_NEWNET = 0x40000000;
    /** What inspect0 fills, in this order. */
    private static final int FS_TYPE = 0;
    private static final int MODE = 1;
    private static final int DEV = 2;
    private static final int INO = 3;
    private static final int INSPECT_LEN = 4;

    private final Path path;
    private final OwnedFd fd;
    private final NamespaceId id;

    private NetNs(Path path, int fd, NamespaceId id) {
        this.path = path;
        this.fd = new OwnedFd(fd, "network namespace handle " + path);
        this.id = id;
    }

    /**
     * Opens the network namespace file at path, following symlinks. Opening a file of any other
     * kind has no side effect and cannot block (a FIFO, a device, a socket).
     *
     * @throws NotANamespaceException when path is not a file on nsfs
     * @throws WrongNamespaceTypeException when it is a namespace of another type
     * @throws NativeException with the errno when it cannot be opened (ENOENT: no such file,
     *     a dangling symlink among them)
     */
    public static NetNs open(Path path) {
        NativeLibrary.ensureAvailability();
        String what = "open network namespace " + path;
        int located = Errors.check(openPath0(path.toString()), what);
        try {
            long[] stat = new long[INSPECT_LEN];
            Errors.check(inspect0(located, stat), what);
            if (stat[FS_TYPE] != NSFS_MAGIC) {
                throw new NotANamespaceException(what, path, NotANamespaceException.Kind.ofMode(stat[MODE]),
                        stat[FS_TYPE]);
            }
            int fd = Errors.check(reopen0(located), what);
            try {
                int type = Errors.check(nsType0(fd), what);
                if (type != CLONE_NEWNET) {
                    throw new WrongNamespaceTypeException(what, path, type);
                }
                return new NetNs(path, fd, new NamespaceId(stat[DEV], stat[INO]));
            } catch (RuntimeException e) {
                OwnedFd.close0(fd);
                throw e;
            }
        } finally {
            OwnedFd.close0(located);
        }
    }

    /** The identity of the network namespace at path (opened and checked as {@link #open} does). */
    public static NamespaceId idOf(Path path) {
        try (NetNs ns = open(path)) {
            return ns.id();
        }
    }

    /** The calling thread's own network namespace ({@code /proc/thread-self/ns/net}). */
    public static NamespaceId currentThreadId() {
        return idOf(THREAD_SELF);
    }

    /** The network namespace of process 1, the init of this PID namespace (the node's, on a node). */
    public static NamespaceId initId() {
        return idOf(INIT);
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

    /** Which namespace this is: equal for every handle on it. */
    public NamespaceId id() {
        return id;
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

    /** An O_PATH descriptor of path, following symlinks; or -errno. */
    private static native int openPath0(String path);

    /** Fills stat (FS_TYPE, MODE, DEV, INO) for fd; 0 or -errno. */
    private static native int inspect0(int fd, long[] stat);

    /** A readable descriptor of what the O_PATH fd refers to; or -errno. */
    private static native int reopen0(int fd);

    /** The namespace's CLONE_NEW* type (NS_GET_NSTYPE); or -errno. */
    private static native int nsType0(int fd);

    private static native int writeSysctl0(int nsFd, String path, String value);
}
