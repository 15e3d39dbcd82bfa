package io.vesicle.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The metrics endpoint as a client sees it, on a loopback port of the kernel's choice: the three
 * paths, what it refuses, and that it holds no more connections than its cap.
 */
@Timeout(60)
class MetricsServerTest {
    Readiness readiness;
    AgentMetrics metrics;
    MetricsServer server;

    @BeforeEach
    void start() {
        readiness = new Readiness();
        metrics = new AgentMetrics(readiness);
        server = new MetricsServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), metrics).start();
    }

    @AfterEach
    void stop() {
        server.close();
        metrics.close();
    }

    record Answer(int status, String head, String body) {
    }

    /** One raw HTTP/1.1 exchange, connection closed after it. */
    Answer exchange(String request) throws IOException {
        try (Socket socket = connect()) {
            return exchange(socket, request);
        }
    }

    Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(server.address(), 5000);
        socket.setSoTimeout(10_000);
        return socket;
    }

    static Answer exchange(Socket socket, String request) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        int split = all.indexOf("\r\n\r\n");
        assertTrue(split > 0, "an HTTP answer: " + all);
        String head = all.substring(0, split);
        return new Answer(Integer.parseInt(head.split(" ")[1]), head, all.substring(split + 4));
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    }

    @Test
    void servesTheExpositionWithTheAgentsMetersAndTheJvms() throws IOException {
        metrics.endpointCreate().record(java.time.Duration.ofMillis(30));
        metrics.countLostEvents(3);
        metrics.endpointsInState("ready", () -> 2);
        Answer a = exchange(get("/metrics"));
        assertEquals(200, a.status());
        assertTrue(a.head().contains("text/plain; version=0.0.4"), a.head());
        for (String line : List.of("vesicle_endpoint_create_seconds_count 1",
                "vesicle_endpoint_create_seconds_bucket{le=\"0.05\"} 1",
                "vesicle_endpoint_create_seconds_bucket{le=\"0.025\"} 0",
                "vesicle_events_lost_total 3.0", "vesicle_endpoints{state=\"ready\"} 2.0",
                "vesicle_cluster_state_healthy 1.0", "vesicle_ready 0.0",
                "vesicle_cluster_state_event_seconds_count{type=\"node_upserted\"} 0",
                "# HELP vesicle_endpoint_create_seconds ", "# TYPE vesicle_endpoint_create_seconds histogram")) {
            assertTrue(a.body().contains(line), "the exposition has '" + line + "'");
        }
        for (String jvm : List.of("jvm_memory_used_bytes{", "jvm_threads_live_threads ", "process_cpu_usage ",
                "jvm_gc_", "process_files_open_files ",
                "process_cpu_seconds_total ", "system_cpus ")) {
            assertTrue(a.body().contains(jvm), "JVM meter " + jvm);
        }
    }

    @Test
    void healthzAnswersWhileTheProcessServes() throws IOException {
        Answer a = exchange(get("/healthz"));
        assertEquals(200, a.status());
        assertEquals("ok\n", a.body());
    }

    @Test
    void readyzWaitsForTheDatapathTheRestoreAndTheClusterState() throws IOException {
        assertNotReady("the datapath is not loaded");
        readiness.datapathLoaded();
        assertNotReady("the endpoints are not restored");
        readiness.endpointsRestored();
        assertEquals(200, exchange(get("/readyz")).status(), "no cluster state source: synced");
        AtomicBoolean synced = new AtomicBoolean(false);
        readiness.clusterState(synced::get, () -> Optional.of("etcd unreachable"));
        assertNotReady("the cluster state has not synced");
        assertTrue(exchange(get("/metrics")).body().contains("vesicle_cluster_state_healthy 0.0"));
        synced.set(true);
        Answer ready = exchange(get("/readyz"));
        assertEquals(200, ready.status(), "a degraded source after its sync leaves the agent ready (health shows it)");
        assertEquals("ok\n", ready.body());
        readiness.stopping();
        assertNotReady("stopping");
    }

    void assertNotReady(String why) throws IOException {
        Answer a = exchange(get("/readyz"));
        assertEquals(503, a.status(), a.body());
        assertTrue(a.body().contains(why), a.body() + " should say " + why);
    }

    @Test
    void onlyGetIsServedAndBodiesAreNotRead() throws IOException {
        for (String method : List.of("POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE")) {
            Answer a = exchange(method + " /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    + "Connection: close\r\n\r\nhello");
            assertEquals(405, a.status(), method);
            assertTrue(a.head().contains("Allow: GET"), a.head());
        }
        // A body announced and never sent: the answer does not wait for it.
        Answer a = exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
        assertEquals(405, a.status());
        assertEquals(404, exchange(get("/v1/status")).status());
        int traversal = exchange(get("/metrics/../etc/passwd")).status();
        assertTrue(traversal == 400 || traversal == 404, "a path outside the three: " + traversal);
    }

    @Test
    void anOversizeHeadIsRefused() throws IOException {
        Answer a = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + "a".repeat(8000)
                + "\r\nConnection: close\r\n\r\n");
        assertEquals(431, a.status());
    }

    @Test
    void connectionsBeyondTheCapWaitUntilOneCloses() throws IOException {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < MetricsServer.MAX_CONNECTIONS; i++) {
                idle.add(connect());
            }
            // Each held connection is accepted: a request on it is answered.
            Socket extra = connect();
            extra.setSoTimeout(1500);
            extra.getOutputStream().write(get("/healthz").getBytes(StandardCharsets.US_ASCII));
            assertThrows(SocketTimeoutException.class, () -> extra.getInputStream().read(),
                    "the connection past the cap is not served while the others are open");
            idle.remove(0).close();
            extra.setSoTimeout(10_000);
            String answer = new String(extra.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            extra.close();
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void aSlowSenderIsCutAtTheConnectionDeadline() throws IOException {
        try (Socket slow = connect()) {
            slow.setSoTimeout((int) MetricsServer.CONNECTION_DEADLINE.plusSeconds(20).toMillis());
            long start = System.nanoTime();
            slow.getOutputStream().write("GET /met".getBytes(StandardCharsets.US_ASCII));
            slow.getOutputStream().flush();
            assertEquals(-1, slow.getInputStream().read(), "closed without an answer");
            long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds >= MetricsServer.CONNECTION_DEADLINE.toSeconds() - 1, "cut after " + seconds + " s");
        }
        assertEquals(200, exchange(get("/healthz")).status(), "the others are served");
    }

    @Test
    void oneRequestPerConnection() throws IOException {
        try (Socket socket = connect()) {
            Answer a = exchange(socket, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + get("/readyz"));
            assertTrue(a.head().contains("Connection: close"), a.head());
            assertEquals("ok\n", a.body(), "the second request is not answered");
        }
    }

    @Test
    void aPortInUseIsAClearError() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new MetricsServer(server.address(), metrics).start());
        assertTrue(e.getMessage().contains("cannot serve metrics on 127.0.0.1:" + server.address().getPort()),
                e.getMessage());
    }
}
