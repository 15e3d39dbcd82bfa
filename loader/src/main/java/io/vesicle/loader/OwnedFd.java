package io.vesicle.loader;

/**
 * A descriptor its holder (a map, a program, a namespace handle) owns: refused once closed, and
 * closed once. Reads of {@link #get()} are not synchronized, like the holders' operations, which
 * must not race {@link #close()}.
 */
final class OwnedFd {
    static {
        NativeLibrary.ensureAvailability();
    }

    /** What the descriptor is, for messages: "map vsl_lxc". */
    private final String what;
    private int fd;

    OwnedFd(int fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    String what() {
        return what;
    }

    int get() {
        int fd = this.fd;
        if (fd < 0) {
            throw new IllegalStateException(what + " is closed");
        }
        return fd;
    }

    /** Idempotent. */
    synchronized void close() {
        if (fd >= 0) {
            close0(fd);
            fd = -1;
        }
    }

    /** A close-on-exec duplicate of fd, or -errno. */
    static native int dup0(int fd);

    /** Closes a descriptor no OwnedFd holds yet; 0 or -errno. */
    static native int close0(int fd);
}
