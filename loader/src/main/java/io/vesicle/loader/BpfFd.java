package io.vesicle.loader;

import java.nio.file.Path;
import java.util.function.IntSupplier;

/**
 * What {@link BpfMap} and {@link Program} do alike with their descriptor: take it over once its
 * info is read, open it from a pin, pin it. Only the info they read differs.
 */
final class BpfFd {
    static {
        NativeLibrary.ensureAvailability();
    }

    private static final int EBADF = 9;

    /** The kinds of BPF object a descriptor may be, in the order of the C side's enum. */
    enum Kind {
        MAP("map"),
        PROGRAM("program");

        final String noun;

        Kind(String noun) {
            this.noun = noun;
        }
    }

    /** Builds the map or program that owns fd. */
    interface Adopter<T> {
        T adopt(int fd, String name);
    }

    private BpfFd() {
    }

    /**
     * Takes ownership of fd, an object of kind, once readInfo (the kind's info0 on fd) succeeds;
     * closes fd and throws when it fails.
     */
    static OwnedFd adopt(int fd, Kind kind, String name, IntSupplier readInfo) {
        String what = kind.noun + " " + name;
        int ret = readInfo.getAsInt();
        if (ret < 0) {
            OwnedFd.close0(fd);
            Errors.check(ret, "get the info of " + what);
        }
        return new OwnedFd(fd, what);
    }

    /**
     * Opens the object pinned at path, refusing one of another kind (EBADF), and hands its
     * descriptor to adopter with the kernel's name for it (at most 15 characters).
     */
    static <T> T openPinned(Path path, Kind kind, Adopter<T> adopter) {
        String what = "open pinned " + kind.noun + " " + path;
        int fd = Errors.check(objGet0(path.toString()), what);
        String name = name0(fd, kind.ordinal());
        if (name == null) {
            OwnedFd.close0(fd);
            throw Errors.exception(EBADF, what + " (it is no BPF " + kind.noun + ")");
        }
        return adopter.adopt(fd, name);
    }

    /** Pins the object at path (on a bpffs). */
    static void pin(OwnedFd fd, Path path) {
        Errors.check(pin0(fd.get(), path.toString()), "pin " + fd.what() + " at " + path);
    }

    static native int objGet0(String path);

    /** The kernel's name for fd, or null when it is no object of the kind (an ordinal). */
    private static native String name0(int fd, int kind);

    private static native int pin0(int fd, String path);
}
