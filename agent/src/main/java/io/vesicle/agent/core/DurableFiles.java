package io.vesicle.agent.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * State files that survive the agent's death and the node's crash: content synced before it gets
 * its name, the directory synced after, so after any crash a name holds either the old content
 * or the new, whole. Files are 0600 in 0700 directories: they name every pod on the node.
 */
public final class DurableFiles {
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private DurableFiles() {
    }

    /**
     * Creates dir (0700) if missing, and makes an existing one 0700. A symlink, or a directory
     * another user owns (who could plant state the agent would act on), is refused.
     */
    public static void privateDirectory(Path dir) throws IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new IOException(dir + " is a symbolic link; the agent keeps its state in a real directory");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PRIVATE_DIR);
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self) {
            throw new IOException(dir + " is owned by uid " + owner + ", not by the agent's user (uid " + self
                    + "); another user could plant state the agent would act on");
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    /** Writes a complete, synced temporary file (0600) that is not yet anyone's. */
    public static Path writeTemporary(Path dir, String name, byte[] content) throws IOException {
        Path tmp = dir.resolve(name);
        Files.deleteIfExists(tmp);
        try (FileChannel out = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), PRIVATE_FILE)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(false); // fdatasync: the data and the size it needs; the name is synced with the directory
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /** Replaces target with content atomically and durably. */
    public static void replace(Path target, byte[] content) throws IOException {
        Path dir = target.getParent();
        Path tmp = writeTemporary(dir, "." + target.getFileName() + ".tmp", content);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Gives content the name target only if no file has it (a hard link fails when the name
     * exists), durably; false when another writer holds the name.
     */
    public static boolean createExclusive(Path target, String tmpName, byte[] content) throws IOException {
        Path dir = target.getParent();
        Path tmp = writeTemporary(dir, tmpName, content);
        try {
            Files.createLink(target, tmp);
        } catch (FileAlreadyExistsException e) {
            return false;
        } finally {
            Files.deleteIfExists(tmp);
        }
        syncDirectory(dir);
        return true;
    }

    /** Removes the file durably; false when it was not there. */
    public static boolean delete(Path file) throws IOException {
        boolean deleted = Files.deleteIfExists(file);
        if (deleted) {
            syncDirectory(file.getParent());
        }
        return deleted;
    }

    /** Makes the directory's entries (creations, renames, removals) durable. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
