package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * JNI_OnLoad when a registration step fails: each topic's class is replaced, in a child JVM run
 * with -Xcheck:jni, by a stub without its natives, so RegisterNatives fails at that step and the
 * steps before it are unwound. The library must then be unavailable with the cause, not crash the
 * JVM nor break JNI's rules.
 */
class NativeLibraryTest {
    private Path dir;

    @BeforeEach
    void createDir() {
        dir = TestSupport.tempDir();
    }

    @AfterEach
    void removeDir() {
        TestSupport.deleteTree(dir);
    }

    @Test
    void loadsWhenEveryStepRegisters() throws Exception {
        Probe probe = probe(null);
        assertEquals(List.of("available"), probe.stdout(), probe.toString());
    }

    /** In JNI_OnLoad's order: errors, fd, netns, the libbpf topics, netlink, bpffs. */
    @ParameterizedTest
    @ValueSource(strings = {"Errors", "OwnedFd", "NetNs", "BpfFd", "ObjectSpec", "BpfMap", "Program", "TcLink",
            "Netlink", "Bpffs"})
    void aFailedRegistrationLeavesTheLibraryUnavailableWithItsCause(String stubbed) throws Exception {
        Probe probe = probe(stubbed);
        assertEquals(2, probe.stdout().size(), probe.toString());
        assertEquals("unavailable", probe.stdout().get(0), probe.toString());
        String cause = probe.stdout().get(1);
        assertTrue(cause.contains("NoSuchMethodError") && cause.contains("io.vesicle.loader." + stubbed), cause);
    }

    private record Probe(int exitCode, List<String> stdout, String stderr) {
    }

    /** Runs LibraryProbe in a child JVM with -Xcheck:jni, the class stubbed (if any) first on the class path. */
    private Probe probe(String stubbed) throws IOException, InterruptedException, URISyntaxException {
        String classPath = codeSource(NativeLibrary.class) + ":" + codeSource(LibraryProbe.class);
        if (stubbed != null) {
            Path source = dir.resolve(stubbed + ".java");
            Files.writeString(source, "package io.vesicle.loader; final class " + stubbed + " { }\n");
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            assertEquals(0, javac.run(null, null, null, "-d", dir.resolve("stubs").toString(), source.toString()));
            classPath = dir.resolve("stubs") + ":" + classPath;
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "-Xcheck:jni", "-cp", classPath,
                "-D" + NativeLibrary.EXTRACT_DIR_PROPERTY + "=" + dir, LibraryProbe.class.getName())
                .redirectError(dir.resolve("stderr").toFile()).start();
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            TestSupport.kill(process);
            throw new AssertionError("the probe did not end");
        }
        Probe probe = new Probe(process.exitValue(), stdout.lines().toList(),
                Files.readString(dir.resolve("stderr")));
        assertEquals(0, probe.exitCode(), probe.toString());
        // -Xcheck:jni reports misuse (a call with an exception pending, a bad reference) here.
        assertFalse(probe.stderr().contains("WARNING") || probe.stderr().contains("FATAL"), probe.toString());
        return probe;
    }

    private static String codeSource(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
