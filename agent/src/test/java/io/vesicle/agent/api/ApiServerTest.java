package io.vesicle.agent.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Http;
import io.vesicle.api.Messages;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server against a recording fake: routing, decoding, errors; no kernel involved. */
class ApiServerTest {
    @TempDir
    Path dir;
    Path socket;
    FakeApi api;
    ApiServer server;
    AgentClient client;

    /** Records every call that reached it: a refused request must record none. */
    static class FakeApi implements Api {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        volatile RuntimeException failStatus;
        volatile boolean healthy = true;
        volatile CountDownLatch block;

        @Override
        public Messages.Health health() {
            return healthy ? new Messages.Health("ok", null) : new Messages.Health("unavailable", "pins are missing");
        }

        @Override
        public Object status() {
            if (failStatus != null) {
                throw failStatus;
            }
            return new Messages.Health("fine", null);
        }

        @Override
        public Messages.NodeConfig config() {
            return new Messages.NodeConfig("n1", "10.244.1.0/24", "10.244.1.1", 1450);
        }

        @Override
        public Messages.IpamAllocation allocate(Messages.IpamRequest request) {
            Validation.attachment(request.containerID(), request.ifname());
            calls.add("allocate " + request);
            return new Messages.IpamAllocation("10.244.1.5/24", "10.244.1.1");
        }

        @Override
        public Messages.IpamRelease release(Messages.IpamRequest request) {
            calls.add("release " + request);
            return new Messages.IpamRelease(List.of());
        }

        @Override
        public Messages.Endpoint createEndpoint(Messages.CreateEndpoint request) {
            Validation.attachment(request.containerID(), request.ifname());
            calls.add("create " + request);
            if (block != null) {
                try {
                    block.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return endpoint(request.containerID(), request.ifname());
        }

        @Override
        public List<Messages.Endpoint> endpoints() {
            return List.of();
        }

        @Override
        public Messages.Endpoint endpoint(String containerID, String ifname) {
            if (containerID.equals("missing")) {
                throw ApiFailure.notFound("no endpoint missing/" + ifname);
            }
            return new Messages.Endpoint(1, containerID, ifname, "/var/run/netns/x", null, null, "lxc0", "", "",
                    "10.244.1.5/24", "10.244.1.1", 1450, true);
        }

        @Override
        public Messages.Deleted deleteEndpoint(String containerID, String ifname) {
            calls.add("delete " + containerID + "/" + ifname);
            return new Messages.Deleted(true);
        }

        @Override
        public Messages.CheckResult checkEndpoint(String containerID, String ifname) {
            calls.add("check " + containerID + "/" + ifname);
            return new Messages.CheckResult(true);
        }

        @Override
        public Messages.GcResult gc(Messages.GcRequest request) {
            calls.add("gc " + request);
            return new Messages.GcResult(List.of());
        }
    }

    @BeforeEach
    void start() {
        socket = dir.resolve("api/vesicle.sock");
        api = new FakeApi();
        server = new ApiServer(socket, api).start();
        client = new AgentClient(socket, Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** Sends raw bytes and reads the answer. */
    Http.Response raw(byte[] request) throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            OutputStream out = Channels.newOutputStream(channel);
            InputStream in = Channels.newInputStream(channel);
            out.write(request);
            out.flush();
            channel.shutdownOutput();
            return Http.readResponse(in);
        }
    }

    Http.Response request(String method, String path, String body) throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            Http.writeRequest(Channels.newOutputStream(channel), method, path, body.getBytes(StandardCharsets.UTF_8));
            return Http.readResponse(Channels.newInputStream(channel));
        }
    }

    /** A 4xx with a JSON error naming what; nothing reached the API. */
    void assertRefused(Http.Response response, int status, String what) throws IOException {
        assertEquals(status, response.status(), new String(response.body(), StandardCharsets.UTF_8));
        JsonNode body = AgentClient.JSON.readTree(response.body());
        assertTrue(body.path("error").asText().contains(what), "error '" + body + "' should name " + what);
        assertEquals(List.of(), api.calls, "a refused request must change nothing");
    }

    @Test
    void socketIsPrivate() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
    }

    @Test
    void servesTheClient() {
        assertEquals("ok", client.health().status());
        assertEquals(1450, client.config().mtu());
        assertEquals("10.244.1.5/24", client.allocate(new Messages.IpamRequest("c1", "eth0")).address());
        assertTrue(client.endpoint("c1", "eth0").isPresent());
        assertTrue(client.endpoint("missing", "eth0").isEmpty());
        assertTrue(client.deleteEndpoint("c1", "eth0").deleted());
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
        assertEquals(List.of(), client.gc(new Messages.GcRequest(List.of(new Messages.Attachment("c1", "eth0"))))
                .removed());
        assertEquals(List.of("allocate IpamRequest[containerID=c1, ifname=eth0]", "delete c1/eth0", "check c1/eth0",
                "gc GcRequest[valid=[Attachment[containerID=c1, ifname=eth0]], network=null]"), api.calls);
    }

    @Test
    void unhealthyIs503WithTheReason() {
        api.healthy = false;
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, client::health);
        assertEquals(503, e.status());
        assertEquals("pins are missing", e.getMessage());
    }

    @Test
    void garbageIs400() throws IOException {
        assertRefused(raw("hello\r\n\r\n".getBytes(StandardCharsets.US_ASCII)), 400, "malformed request");
        assertRefused(raw(new byte[] {0, 1, 2, 3, '\r', '\n', '\r', '\n'}), 400, "malformed request");
        assertRefused(raw("PUT /v1/endpoints HTTP/1.1\r\nHost: v\r\nContent-Length: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
                400, "Content-Length");
        assertRefused(raw("PUT /v1/endpoints HTTP/1.1\r\nHost: v\r\nContent-Length: 10\r\n\r\n{}".getBytes(StandardCharsets.US_ASCII)),
                400, "body ended");
    }

    @Test
    void oversizeIs413() throws IOException {
        String head = "PUT /v1/endpoints HTTP/1.1\r\nHost: v\r\nContent-Length: " + (ApiLimits.DEFAULT.maxBodyBytes() + 1) + "\r\n\r\n";
        assertRefused(raw(head.getBytes(StandardCharsets.US_ASCII)), 413, "limit");
        byte[] headers = ("GET /v1/status HTTP/1.1\r\nHost: v\r\nX: " + "a".repeat(ApiLimits.DEFAULT.maxHeadBytes()) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        assertRefused(raw(headers), 413, "headers are larger");
    }

    @Test
    void badJsonIs400() throws IOException {
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "{\"containerID\": "), 400, "not valid JSON");
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, ""), 400, "body is required");
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "[1,2]"), 400, "JSON object");
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "\"x\""), 400, "JSON object");
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "{} {}"), 400, "not valid JSON");
        assertRefused(request("POST", ApiPaths.GC, "{\"valid\": [null]}"), 400, "valid[0]");
    }

    @Test
    void wrongTypesAre400() throws IOException {
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "{\"containerID\": 12, \"ifname\": \"eth0\"}"), 400,
                "containerID must be a string");
        assertRefused(request("POST", ApiPaths.IPAM_ALLOCATE, "{\"containerID\": \"a\", \"ifname\": [\"eth0\"]}"),
                400, "ifname must be a string");
        assertRefused(request("POST", ApiPaths.GC, "{\"valid\": \"c1\"}"), 400, "valid must be an array");
        assertRefused(request("POST", ApiPaths.GC, "{\"valid\": [{\"containerID\": true}]}"), 400,
                "valid[0].containerID must be a string");
    }

    @Test
    void invalidFieldsAre400() throws IOException {
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "{\"containerID\": \"-bad\", \"ifname\": \"eth0\"}"), 400,
                "containerID");
        assertRefused(request("PUT", ApiPaths.ENDPOINTS, "{\"containerID\": \"c1\", \"ifname\": \"much-too-long-name\"}"),
                400, "ifname");
        assertRefused(request("POST", ApiPaths.IPAM_ALLOCATE, "{\"containerID\": \"c1\"}"), 400, "ifname is required");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws IOException {
        assertRefused(request("GET", "/v2/endpoints", ""), 404, "/v2/endpoints");
        assertRefused(request("GET", "/v1/endpoints/a/b/c", ""), 404, "/v1/endpoints/a/b/c");
        assertRefused(request("GET", "/", ""), 404, "/");
        assertRefused(request("DELETE", ApiPaths.ENDPOINTS, ""), 405, "DELETE");
        assertRefused(request("POST", ApiPaths.HEALTHZ, ""), 405, "GET");
        assertRefused(request("PUT", ApiPaths.endpoint("c1", "eth0"), "{}"), 405, "GET, DELETE");
        assertRefused(request("GET", ApiPaths.endpoint("c1", "eth0") + "/check", ""), 405, "POST");
        assertRefused(request("GET", "*", ""), 400, "URI");
    }

    @Test
    void pathSegmentsArePercentDecoded() throws IOException {
        Http.Response response = request("DELETE", "/v1/endpoints/c1/eth%30", "");
        assertEquals(200, response.status());
        assertEquals(List.of("delete c1/eth0"), api.calls);
        api.calls.clear();
        assertRefused(request("DELETE", "/v1/endpoints/c1/eth%3", ""), 400, "% encoding");
    }

    @Test
    void aFailingHandlerIs500AndTheServerGoesOn() {
        api.failStatus = new IllegalStateException("boom");
        for (int i = 0; i < 3; i++) {
            AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class,
                    () -> client.call("GET", ApiPaths.STATUS, null, JsonNode.class));
            assertEquals(500, e.status());
            assertTrue(e.getMessage().contains("boom"), e.getMessage());
        }
        api.failStatus = null;
        assertEquals("fine", client.call("GET", ApiPaths.STATUS, null, JsonNode.class).path("status").asText());
        api.failStatus = new ApiFailure(507, "full");
        assertEquals(507, assertThrows(AgentClient.ApiException.class,
                () -> client.call("GET", ApiPaths.STATUS, null, JsonNode.class)).status());
    }

    @Test
    void aSilentClientDoesNotHoldTheServer() throws Exception {
        List<SocketChannel> idle = new ArrayList<>();
        try {
            for (int i = 0; i < ApiLimits.DEFAULT.workers() + 2; i++) {
                idle.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            }
            // Silent clients hold no worker: health answers before any of them reaches its read deadline.
            assertEquals("ok", new AgentClient(socket, ApiLimits.DEFAULT.readDeadline().dividedBy(2))
                    .health().status());
        } finally {
            for (SocketChannel c : idle) {
                c.close();
            }
        }
    }

    @Test
    void staleSocketIsReplacedAndALiveOneRefused() throws Exception {
        IllegalStateException live = null;
        try {
            new ApiServer(socket, api).start();
        } catch (RuntimeException e) {
            assertTrue(e.getMessage().contains("another agent"), e.getMessage());
            live = new IllegalStateException(e);
        }
        assertTrue(live != null, "a second server on a live socket must be refused");
        assertEquals("ok", client.health().status(), "the first server still serves");
        server.close();
        assertFalse(Files.exists(socket), "close removes the socket file");
        // A killed agent leaves its socket file behind: bind one and drop it without cleanup.
        try (var channel = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            channel.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        server = new ApiServer(socket, api).start();
        assertEquals("ok", client.health().status());
    }

    @Test
    void closeLetsInFlightRequestsFinish() throws Exception {
        api.block = new CountDownLatch(1);
        var answer = new java.util.concurrent.CompletableFuture<Messages.Endpoint>();
        Thread caller = new Thread(() -> {
            try {
                answer.complete(client.createEndpoint(new Messages.CreateEndpoint("c1", "eth0", "/x", null, null, null,
                        null)));
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        });
        caller.start();
        while (api.calls.isEmpty()) {
            Thread.sleep(5);
        }
        Thread closer = new Thread(server::close);
        closer.start();
        Thread.sleep(100);
        assertFalse(Files.exists(socket), "no new connections once closing");
        api.block.countDown();
        assertEquals("c1", answer.get(5, TimeUnit.SECONDS).containerID());
        closer.join(5000);
    }
}
