package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class BpffsTest {
    @Test
    void tellsBpffsFromOtherFileSystems() throws Exception {
        assertTrue(Bpffs.isMounted(TestSupport.BPFFS), "/sys/fs/bpf is a bpffs (make bpffs)");
        Path tmp = Files.createTempDirectory("vsl-bpffs");
        try {
            assertFalse(Bpffs.isMounted(tmp));
            assertFalse(Bpffs.isMounted(tmp.resolve("missing")), "a missing path is on no bpffs");
            assertFalse(Bpffs.isMounted(Path.of("/proc/self/status/x")), "not a directory");
        } finally {
            Files.delete(tmp);
        }
    }

    @Test
    void mountsOnAnEmptyDirectory() throws Exception {
        Path dir = Files.createTempDirectory("vsl-bpffs");
        try {
            Bpffs.mount(dir);
            try {
                assertTrue(Bpffs.isMounted(dir));
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
    void mountFailureKeepsTheErrno() {
        NativeException e = assertThrows(NativeException.class,
                () -> Bpffs.mount(Path.of("/nonexistent-vsl-" + TestSupport.random())));
        assertEquals(Errors.ENOENT, e.errno());
    }
}
