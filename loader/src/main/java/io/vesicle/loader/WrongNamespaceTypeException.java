package io.vesicle.loader;

import java.nio.file.Path;

/**
 * A namespace file of another type where a network namespace was expected ({@code /proc/PID/ns/mnt}
 * for {@code /proc/PID/ns/net}, say). Its errno is EINVAL, what {@code setns} would have said.
 */
public final class WrongNamespaceTypeException extends NativeException {
    private final Path path;
    private final String type;

    WrongNamespaceTypeException(String what, Path path, int cloneFlag) {
        super(what + ": " + path + " is a " + typeName(cloneFlag) + " namespace, not a net namespace", Errors.EINVAL);
        this.path = path;
        this.type = typeName(cloneFlag);
    }

    public Path path() {
        return path;
    }

    /** The type as /proc/PID/ns names it: mnt, pid, user, uts, ipc, cgroup, time. */
    public String type() {
        return type;
    }

    /** The name of a CLONE_NEW* flag, as NS_GET_NSTYPE returns it. */
    static String typeName(int cloneFlag) {
        switch (cloneFlag) {
            case 0x00020000:
                return "mnt";
            case 0x20000000:
                return "pid";
            case 0x10000000:
                return "user";
            case 0x04000000:
                return "uts";
            case 0x08000000:
                return "ipc";
            case 0x02000000:
                return "cgroup";
            case 0x00000080:
                return "time";
            case 0x40000000:
                return "net";
            default:
                return "type 0x" + Integer.toHexString(cloneFlag);
        }
    }
}
