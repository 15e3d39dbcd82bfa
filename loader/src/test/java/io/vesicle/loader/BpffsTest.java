package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

class BpffsTest {
    @Test
    void tellsBpffsFromOtherFileSystems() throws Exception {
        assertTrue(Bpffs.isMounted(TestSupport.BPFFS), "/sys/fs/bpf is a bpffs (make bpffs)");
        Path tmp = TestSupport.tempDir();
        try {
            assertFalse(Bpffs.isMounted(tmp));
            assertFalse(Bpffs.isMounted(tmp.resolve("missing")), "a missing path is on no bpffs");
            assertFalse(Bpffs.isMounted(Path.of("/proc/self/status/x")), "not a directory");
        } finally {
            Files.delete(tmp);
        }
    }

    @Test
    void mountsOnAnEmptyDirectoryForRootAlone() throws Exception {
        Path dir = TestSupport.tempDir();
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Bpffs.mount(dir);
            try {
                assertTrue(Bpffs.isMounted(dir));
                assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
                String mountinfo = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                        .filter(line -> line.split(" ")[4].equals(dir.toString())).findFirst().orElseThrow();
                assertTrue(mountinfo.contains(" bpf ") && mountinfo.contains("mode=700"), mountinfo);
                Bpffs.checkPinRoot(dir);
                Files.createDirectory(dir.resolve("pins"));
                assertTrue(Bpffs.isMounted(dir.resolve("pins")), "a directory below the mount is on it");
            } finally {
                assertEquals("", TestSupport.run("umount", dir.toString()).strip());
            }
            assertFalse(Bpffs.isMounted(dir));
        } finally {
            Files.delete(dir);
        }
    }

    @Test
    void safePinRootsPass() throws Exception {
        Path dir = TestSupport.tempDir();
        try {
            Bpffs.checkPinRoot(dir.resolve("missing"));
            Bpffs.checkPinRoot(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Bpffs.checkPinRoot(dir);
        } finally {
            TestSupport.deleteTree(dir);
        }
    }

    @Test
    void unsafePinRootsAreRefusedNamingPathOwnerAndMode() throws Exception {
        Path dir = TestSupport.tempDir();
        try {
            Path groupWritable = Files.createDirectory(dir.resolve("group-writable"));
            Files.setPosixFilePermissions(groupWritable, PosixFilePermissions.fromString("rwxrwxr-x"));
            assertUnsafe(groupWritable, "writable by its group (owner uid 0, group gid 0, mode 0775)");

            Path worldWritable = Files.createDirectory(dir.resolve("world-writable"));
            Files.setPosixFilePermissions(worldWritable, PosixFilePermissions.fromString("rwxrwxrwx"));
            assertUnsafe(worldWritable, "writable by others (owner uid 0, group gid 0, mode 0777)");

            Path foreign = Files.createDirectory(dir.resolve("foreign"));
            Files.setPosixFilePermissions(foreign, PosixFilePermissions.fromString("rwx------"));
            TestSupport.run("chown", "65534", foreign.toString());
            assertUnsafe(foreign, "not owned by root (owner uid 65534, group gid 0, mode 0700)");

            Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("safe")));
            assertUnsafe(link, "it is a symlink");

            Path file = Files.writeString(dir.resolve("file"), "");
            assertUnsafe(file, "it is not a directory");
        } finally {
            TestSupport.deleteTree(dir);
        }
    }

    private static void assertUnsafe(Path root, String problem) {
        UnsafePinRootException e = assertThrows(UnsafePinRootException.class, () -> Bpffs.checkPinRoot(root));
        assertEquals(root, e.path());
        assertTrue(e.getMessage().startsWith("pin root " + root + " is unsafe: "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @Test
    void mountFailureKeepsTheErrno() {
        NativeException e = assertThrows(NativeException.class,
                () -> Bpffs.mount(Path.of("/nonexistent-vsl-" + TestSupport.random())));
        assertEquals(Errors.ENOENT, e.errno());
    }
}
