package io.vesicle.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient.UnavailableException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class AgentConnectionTest {
    @TempDir
    Path dir;

    Path socket() {
        return dir.resolve("agent.sock");
    }

    @Test
    void sendsTheRequestAndReturnsTheAnswerWhateverItsStatus() throws IOException {
        try (UnixServer server = UnixServer.answering(socket(), 409, "{\"error\":\"exists\"}")) {
            Http.Response response = new AgentConnection(socket(), Duration.ofSeconds(5))
                    .exchange("PUT", "/v1/endpoints", "{}".getBytes(StandardCharsets.UTF_8));

            assertEquals(409, response.status());
            assertEquals("{\"error\":\"exists\"}", new String(response.body(), StandardCharsets.UTF_8));
            assertEquals("PUT /v1/endpoints {}", server.requests.get(0).method() + " " + server.requests.get(0).path()
                    + " " + new String(server.requests.get(0).body(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void anAgentThatNeverAnswersFailsAtTheDeadlineAsConnected() throws IOException {
        CountDownLatch stop = new CountDownLatch(1);
        try (UnixServer server = new UnixServer(socket(), (connection, s) -> {
            try {
                stop.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> new AgentConnection(socket(), Duration.ofMillis(300)).exchange("GET", "/v1/healthz",
                            new byte[0]));
            assertTrue(e.connected(), "the request went out: the agent may have acted on it");
            assertTrue(e.getMessage().contains("no answer within 300 ms"), e.getMessage());
            assertTrue(e.getMessage().contains(socket().toString()), e.getMessage());
        } finally {
            stop.countDown();
        }
    }

    @Test
    void anAgentThatHangsUpWithoutAnAnswerFailsAsConnected() throws IOException {
        try (UnixServer server = new UnixServer(socket(), (connection, s) ->
                Http.readRequest(Channels.newInputStream(connection)))) {
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> new AgentConnection(socket(), Duration.ofSeconds(5)).exchange("DELETE",
                            "/v1/endpoints/a/eth0", new byte[0]));
            assertTrue(e.connected());
            assertFalse(e.getMessage().contains("no answer within"), "not a timeout: " + e.getMessage());
            assertTrue(e.getMessage().contains("DELETE /v1/endpoints/a/eth0"), e.getMessage());
        }
    }

    @Test
    void aMissingSocketFailsAsNotConnected() {
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> new AgentConnection(socket(), Duration.ofSeconds(5)).exchange("GET", "/v1/healthz",
                        new byte[0]));
        assertFalse(e.connected(), "nothing reached an agent");
        assertTrue(e.getMessage().contains(socket().toString()), e.getMessage());
    }

    @Test
    void aStaleSocketFileFailsAsNotConnected() throws IOException {
        // A killed agent leaves its socket file behind: connecting is refused.
        ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        dead.bind(UnixDomainSocketAddress.of(socket()));
        dead.close();
        assertTrue(Files.exists(socket()));

        UnavailableException e = assertThrows(UnavailableException.class,
                () -> new AgentConnection(socket(), Duration.ofSeconds(5)).exchange("GET", "/v1/healthz",
                        new byte[0]));
        assertFalse(e.connected());
    }
}
