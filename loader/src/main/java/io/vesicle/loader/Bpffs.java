package io.vesicle.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

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
    /** st_mode bits (sys/stat.h). */
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IWGRP = 0020;
    private static final int S_IWOTH = 0002;
    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

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

    /**
     * Mounts a bpffs on the existing directory dir, mode 0700 ({@code mount -t bpf -o mode=0700 bpf
     * dir}): a bpffs mounted without a mode is writable by everyone.
     */
    public static void mount(Path dir) {
        Errors.check(mount0(dir.toString()), "mount bpffs on " + dir);
    }

    /**
     * Checks that pin root dir, when it exists, is safe to pin in and reuse pins from: a directory
     * (not a symlink to one), owned by root, not writable by group or others. Nothing to check
     * when it does not exist: the loader creates it 0700.
     *
     * @throws UnsafePinRootException naming the path, what it is, its owner and its mode
     */
    public static void checkPinRoot(Path dir) {
        Map<String, Object> attributes;
        try {
            attributes = Files.readAttributes(dir, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stat pin root " + dir, e);
        }
        int mode = (Integer) attributes.get("mode");
        int uid = (Integer) attributes.get("uid");
        String owner = "owner uid " + uid + ", group gid " + attributes.get("gid") + ", mode "
                + String.format("%04o", mode & 07777);
        if ((mode & S_IFMT) == S_IFLNK) {
            throw new UnsafePinRootException(dir, "it is a symlink (" + owner + "); give the directory itself");
        }
        if ((mode & S_IFMT) != S_IFDIR) {
            throw new UnsafePinRootException(dir, "it is not a directory (" + owner + ")");
        }
        if (uid != 0) {
            throw new UnsafePinRootException(dir, "it is not owned by root (" + owner + ")");
        }
        if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
            throw new UnsafePinRootException(dir, "it is writable by " + ((mode & S_IWOTH) != 0 ? "others" : "its group")
                    + " (" + owner + ")");
        }
    }

    /** Creates pin root dir, and missing parents, mode 0700. */
    static void createPinRoot(Path dir) {
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create pin root " + dir, e);
        }
    }

    private static native long fsType0(String path);

    private static native int mount0(String path);
}
