package io.vesicle.agent.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Http;
import io.vesicle.api.Messages;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each limit of {@link ApiLimits} against the fake API: what is refused, and how. */
@Timeout(60)
class ApiLimitsTest {
    @TempDir
    Path dir;
    final ApiServerTest.FakeApi api = new ApiServerTest.FakeApi();
    final List<SocketChannel> held = new ArrayList<>();
    ApiServer server;
    Path socket;

    ApiServer start(ApiLimits limits) {
        socket = dir.resolve("run/api.sock");
        server = new ApiServer(socket, api, ApiAccess.rootOnly(), limits).start();
        return server;
    }

    @AfterEach
    void stop() throws IOException {
        if (api.block != null) {
            api.block.countDown();
        }
        for (SocketChannel c : held) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
    }

    AgentClient client() {
        return new AgentClient(socket, Duration.ofSeconds(10));
    }

    CompletableFuture<Object> createInBackground() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return client().createEndpoint(new Messages.CreateEndpoint("c1", "eth0", "/x", null, null, null, null));
            } catch (RuntimeException e) {
                return e;
            }
        });
    }

    @Test
    void aRequestOverItsTimeLimitIsAnswered503NamingTheLimit() throws Exception {
        start(ApiLimits.DEFAULT.withTimes(Duration.ofSeconds(5), Duration.ofMillis(300)));
        api.block = new CountDownLatch(1);
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, () -> client().createEndpoint(
                new Messages.CreateEndpoint("c1", "eth0", "/x", null, null, null, null)));
        assertEquals(503, e.status());
        assertTrue(e.getMessage().contains("300 ms") && e.getMessage().contains("limit"), e.getMessage());
        api.block.countDown(); // the handler finishes later; the server goes on
        assertEquals("ok", client().health().status());
    }

    @Test
    void aFullQueueIsAnswered503() throws Exception {
        start(ApiLimits.DEFAULT.withWorkers(1, 1));
        api.block = new CountDownLatch(1);
        CompletableFuture<Object> running = createInBackground();
        while (api.calls.isEmpty()) {
            Thread.sleep(5);
        }
        // The one worker is busy: of two more requests one waits in the queue, the other is refused.
        CompletableFuture<Object> second = createInBackground();
        CompletableFuture<Object> third = createInBackground();
        Object refused = CompletableFuture.anyOf(second, third).get(10, TimeUnit.SECONDS);
        assertTrue(refused instanceof AgentClient.ApiException, String.valueOf(refused));
        assertEquals(503, ((AgentClient.ApiException) refused).status());
        assertTrue(((AgentClient.ApiException) refused).getMessage().contains("busy"), refused.toString());
        api.block.countDown();
        assertTrue(running.get(10, TimeUnit.SECONDS) instanceof Messages.Endpoint);
        Object queued = (second.isDone() && second.get() == refused ? third : second).get(10, TimeUnit.SECONDS);
        assertTrue(queued instanceof Messages.Endpoint, String.valueOf(queued));
    }

    @Test
    void aChunkedBodyIsCutOffAtTheLimit() throws Exception {
        start(ApiLimits.DEFAULT);
        int size = ApiLimits.DEFAULT.maxBodyBytes() + 1024;
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            String head = "PUT /v1/endpoints HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(size) + "\r\n";
            try {
                channel.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
                channel.write(ByteBuffer.wrap(new byte[size]));
            } catch (IOException e) {
                // the server answered and closed before the whole body was sent
            }
            Http.Response response = Http.readResponse(Channels.newInputStream(channel));
            assertEquals(413, response.status());
            assertTrue(new String(response.body(), StandardCharsets.UTF_8).contains("limit"));
        }
        assertEquals(List.of(), api.calls);
    }

    @Test
    void aSlowSenderIsCutOffAtTheReadDeadlineFromAccept() throws Exception {
        start(ApiLimits.DEFAULT.withTimes(Duration.ofSeconds(1), Duration.ofSeconds(20)));
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap("GET /v1/healthz HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)));
            long start = System.nanoTime();
            boolean cut = false;
            // A header line every 100 ms: never idle, but never done either.
            while (!cut && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
                try {
                    channel.write(ByteBuffer.wrap("X: y\r\n".getBytes(StandardCharsets.US_ASCII)));
                    Thread.sleep(100);
                } catch (IOException e) {
                    cut = true;
                }
            }
            assertTrue(cut, "the server must close a request still arriving after the read deadline");
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis >= 900, "closed after " + millis + " ms, before the deadline");
        }
        assertEquals("ok", client().health().status());
    }

    @Test
    void connectionsOverTheCapAreClosedAtOnce() throws Exception {
        start(ApiLimits.DEFAULT.withMaxConnections(4));
        for (int i = 0; i < 4; i++) {
            held.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.openConnections() < 4 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(4, server.openConnections());
        try (SocketChannel excess = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            assertEquals(-1, excess.read(ByteBuffer.allocate(1)), "an excess connection is closed unread");
        }
        held.remove(0).close();
        while (server.openConnections() > 3 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("ok", client().health().status(), "room again once one closed");
    }

    @Test
    void anUnsafeSocketDirectoryIsRefusedNamingIt() throws Exception {
        Path open = Files.createDirectories(dir.resolve("open"));
        Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectories(dir.resolve("real")));
        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        for (Path unsafe : List.of(open, link, foreign)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new ApiServer(unsafe.resolve("api.sock"), api).start());
            assertTrue(e.getMessage().contains(unsafe.toString()), e.getMessage());
            assertTrue(!Files.exists(unsafe.resolve("api.sock")), "nothing bound in " + unsafe);
        }
    }

    @Test
    void aSymlinkAtTheSocketPathIsNeverFollowed() throws Exception {
        Path target = Files.createDirectories(dir.resolve("run")).resolve("elsewhere");
        Files.writeString(target, "keep");
        Files.createSymbolicLink(dir.resolve("run/api.sock"), target);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(ApiLimits.DEFAULT));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals("keep", Files.readString(target));
        server = null;
    }
}
