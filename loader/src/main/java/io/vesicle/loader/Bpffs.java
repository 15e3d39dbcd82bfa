package io.vesicle.loader;

import java.nio.file.Path;

/**
 * The BPF file system, where pinned maps and programs live: whether a directory is on one, and
 * mounting one where the node has none (a fresh node, a container without {@code /sys/fs/bpf}).
 */
public final class Bpffs {
    /** statfs f_type of bpffs (BPF_FS_MAGIC in linux/magic.h). */
    public static final long BPF_FS_MAGIC = 0xcafe4a11L;
    /** Where distributions and Kubernetes nodes mount it. */
    public static final Path DEFAULT_MOUNT = Path.of("/sys/fs/bpf");
    private static final int ENOTDIR = 20;

    static {
        NativeLibrary.ensureAvailability();
    }

    private Bpffs() {
    }

    /** Whether path (a directory or a pinned object) is on a bpffs; false when it does not exist. */
    public static boolean isMounted(Path path) {
        long type = fsType0(path.toString());
        if (type == -Errors.ENOENT || type == -ENOTDIR) {
            return false;
        }
        return Errors.check(type, "statfs " + path) == BPF_FS_MAGIC;
    }

    /** Mounts a bpffs on the existing directory dir ({@code mount -t bpf bpf dir}). */
    public static void mount(Path dir) {
        Errors.check(mount0(dir.toString()), "mount bpffs on " + dir);
    }

    /** Refuses a pin root that is a symlink, not root's, or writable by group or others (temporary, replaced by the loader branch). */
    public static void checkPinRoot(java.nio.file.Path root) {
        try {
            if (java.nio.file.Files.isSymbolicLink(root)) {
                throw new IllegalStateException("pin root " + root + " is a symbolic link");
            }
            int uid = (Integer) java.nio.file.Files.getAttribute(root, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) java.nio.file.Files.getAttribute(root, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (uid != 0 || (mode & 022) != 0) {
                throw new IllegalStateException("pin root " + root + " is owned by uid " + uid + " with mode "
                        + Integer.toOctalString(mode & 07777) + ": it must be root's and writable by root alone");
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot check the pin root " + root, e);
        }
    }

    private static native long fsType0(String path);

    private static native int mount0(String path);
}
