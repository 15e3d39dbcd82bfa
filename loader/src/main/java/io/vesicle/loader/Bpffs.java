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

    private static native long fsType0(String path);

    private static native int mount0(String path);
}
