package io.vesicle.agent.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The directory the API socket lives in. Whoever can write it can replace the socket with their
 * own, so it must be a real directory (not a symlink) owned by root and writable by nobody else;
 * the directories above it must be root's too and writable by nobody else unless sticky (like
 * /tmp, where others cannot rename what is root's). A missing directory is created 0700.
 */
final class SocketDirectory {
    private static final int GROUP_OR_OTHERS_WRITE = 0022;
    private static final int STICKY = 01000;

    private SocketDirectory() {
    }

    /** A directory that is not safe for the socket; the message names it and says why. */
    static final class UnsafeException extends IllegalStateException {
        UnsafeException(Path dir, String why) {
            super("the API socket's directory " + dir + " " + why
                    + "; it must be a directory owned by root and writable only by root");
        }
    }

    /**
     * Creates dir when missing (0700, or 0750 with the API group so that its members reach the
     * socket), then checks it and its parents.
     *
     * @throws UnsafeException naming the directory that others could change
     */
    static void prepare(Path dir, GroupPrincipal group) {
        try {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
                if (group != null) {
                    Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                            .setGroup(group);
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
                }
            }
            check(dir, false);
            for (Path parent = dir.toRealPath().getParent(); parent != null; parent = parent.getParent()) {
                check(parent, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the API socket's directory " + dir + ": " + e.getMessage(),
                    e);
        }
    }

    private static void check(Path dir, boolean stickyAllowed) throws IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new UnsafeException(dir, "is a symbolic link (to " + Files.readSymbolicLink(dir) + ")");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new UnsafeException(dir, "is not a directory");
        }
        int uid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (uid != 0) {
            throw new UnsafeException(dir, "is owned by uid " + uid + ", not root");
        }
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & GROUP_OR_OTHERS_WRITE) != 0 && !(stickyAllowed && (mode & STICKY) != 0)) {
            throw new UnsafeException(dir, String.format("is writable by %s (mode %04o)",
                    (mode & 0002) != 0 ? "others" : "its group", mode & 07777));
        }
    }

    /** Removes a directory of this process's (the private bind directory) and what is in it, following no link. */
    static void removeTree(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var entries = Files.list(dir)) {
            for (Path entry : entries.toList()) {
                Files.deleteIfExists(entry);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }
}
