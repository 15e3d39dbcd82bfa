package io.vesicle.loader;

import java.nio.file.Path;
import java.util.Map;

/**
 * A path given as a namespace is some other kind of file. Its errno is EINVAL, what
 * {@code setns} would have said; nothing was read from or written to the file.
 */
public final class NotANamespaceException extends NativeException {
    /** What the file is instead, from its mode. */
    public enum Kind {
        REGULAR_FILE("a regular file"),
        DIRECTORY("a directory"),
        FIFO("a FIFO"),
        SOCKET("a socket"),
        CHARACTER_DEVICE("a character device"),
        BLOCK_DEVICE("a block device"),
        OTHER("a file");

        private final String description;

        Kind(String description) {
            this.description = description;
        }

        /** The kind of file of a stat st_mode. */
        static Kind ofMode(long mode) {
            switch ((int) (mode & 0170000)) {
                case 0100000:
                    return REGULAR_FILE;
                case 0040000:
                    return DIRECTORY;
                case 0010000:
                    return FIFO;
                case 0140000:
                    return SOCKET;
                case 0020000:
                    return CHARACTER_DEVICE;
                case 0060000:
                    return BLOCK_DEVICE;
                default:
                    return OTHER;
            }
        }

        @Override
        public String toString() {
            return description;
        }
    }

    /** statfs f_type values (linux/magic.h) of the usual suspects. */
    private static final Map<Long, String> FILE_SYSTEMS = Map.of(
            0xef53L, "ext4", 0x01021994L, "tmpfs", 0x9fa0L, "proc", 0x62656572L, "sysfs",
            Bpffs.BPF_FS_MAGIC, "bpffs", 0x58465342L, "xfs", 0x9123683eL, "btrfs", 0x794c7630L, "overlayfs",
            0x534f434bL, "sockfs");

    private final Path path;
    private final Kind kind;
    private final long fileSystemType;

    NotANamespaceException(String what, Path path, Kind kind, long fileSystemType) {
        super(what + ": " + path + " is not a namespace file: it is " + kind + " on " + fileSystemName(fileSystemType)
                + ", not on nsfs", Errors.EINVAL);
        this.path = path;
        this.kind = kind;
        this.fileSystemType = fileSystemType;
    }

    public Path path() {
        return path;
    }

    public Kind kind() {
        return kind;
    }

    /** statfs f_type of the file system the file is on. */
    public long fileSystemType() {
        return fileSystemType;
    }

    /** Names the file systems a mistaken path is likely to be on; the magic number for others. */
    static String fileSystemName(long type) {
        String name = FILE_SYSTEMS.get(type);
        return name != null ? name : "a file system of type 0x" + Long.toHexString(type);
    }
}
