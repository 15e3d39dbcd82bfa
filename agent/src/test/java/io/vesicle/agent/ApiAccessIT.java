package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who reaches the real agent's API: a user other than root (uid 65534) cannot connect, even when
 * the socket's mode is opened by mistake (SO_PEERCRED); with apiGroup a member can and a
 * non-member cannot; nobody else can replace the socket; an agent given a socket directory others
 * could change refuses to start, naming it.
 */
@Timeout(300)
class ApiAccessIT extends AgentProcessSupport {
    static final String NOBODY = "65534";
    static final String NOGROUP = "65534";

    /** curl as uid 65534 with primary group gid and no other groups; the result of GET /v1/healthz. */
    TestNamespaces.Result healthAs(String gid) {
        return TestNamespaces.runQuietly("setpriv", "--reuid=" + NOBODY, "--regid=" + gid, "--clear-groups", "--",
                "curl", "-sS", "--max-time", "5", "--unix-socket", socket.toString(), "http://vesicle/v1/healthz");
    }

    void assertAnswered(TestNamespaces.Result result) {
        assertTrue(result.ok() && result.output().contains("\"ok\""), result.output());
    }

    void assertNotAnswered(TestNamespaces.Result result) {
        assertFalse(result.ok(), "curl exited 0: " + result.output());
        assertFalse(result.output().contains("\"ok\""), result.output());
    }

    /** The socket's directory made beforehand, 0755, so that other users can reach the socket's own mode. */
    void openSocketDirectory() throws Exception {
        Files.createDirectories(socket.getParent());
        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void otherUsersCanNeitherConnectNorReplaceTheSocket() throws Exception {
        openSocketDirectory();
        startAgent();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertNotAnswered(healthAs(NOGROUP)); // the kernel refuses: mode 0600

        // A mode opened by mistake: the peer check still refuses, without reading the request.
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        assertNotAnswered(healthAs(NOGROUP));
        assertTrue(Files.readString(log).contains("api: refused a connection: user nobody"), Files.readString(log));

        Object key = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        Path dir = socket.getParent();
        for (List<String> attempt : List.of(List.of("rm", "-f", socket.toString()),
                List.of("mv", socket.toString(), dir.resolve("moved").toString()),
                List.of("ln", "-sf", "/tmp", socket.toString()),
                List.of("touch", dir.resolve("planted").toString()))) {
            List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOGROUP,
                    "--clear-groups", "--"));
            command.addAll(attempt);
            TestNamespaces.Result result = TestNamespaces.runQuietly(command);
            assertFalse(result.ok(), attempt + " as uid " + NOBODY + " succeeded");
        }
        assertEquals(key, Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey());
        assertFalse(Files.exists(dir.resolve("planted")));
        assertEquals("ok", client.health().status());
    }

    @Test
    void membersOfTheApiGroupConnectOthersDoNot() throws Exception {
        openSocketDirectory();
        Files.writeString(configFile, "apiGroup: " + NOGROUP + "\n", java.nio.file.StandardOpenOption.APPEND);
        startAgent();
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(Integer.parseInt(NOGROUP), Files.getAttribute(socket, "unix:gid"));
        assertAnswered(healthAs(NOGROUP));
        assertNotAnswered(healthAs("4242"));
    }

    @Test
    void unsafeSocketDirectoriesAreRefusedNamingThem() throws Exception {
        Path writable = Files.createDirectories(scratch.resolve("writable"));
        Files.setPosixFilePermissions(writable, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path foreign = Files.createDirectories(scratch.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", Integer.parseInt(NOBODY));
        Path link = Files.createSymbolicLink(scratch.resolve("link"), Files.createDirectories(scratch.resolve("real")));
        String config = Files.readString(configFile);
        for (Path dir : List.of(writable, foreign, link)) {
            Files.writeString(configFile, config.replace("apiSocket: " + socket, "apiSocket: " + dir.resolve("api.sock")));
            Process refused = new ProcessBuilder(agentCommand()).redirectErrorStream(true).start();
            String output = new String(refused.getInputStream().readAllBytes());
            assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
            assertEquals(1, refused.exitValue(), output);
            assertTrue(output.contains("directory " + dir + " "), output);
            assertFalse(Files.exists(dir.resolve("api.sock"), LinkOption.NOFOLLOW_LINKS));
        }
    }
}
