package io.vesicle.agent.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** GET /v1/monitor against a fake event source: streaming, heartbeats, losses, limits, shutdown. */
@Timeout(60)
class MonitorStreamTest {
    @TempDir
    Path dir;
    final EventsApi api = new EventsApi();
    final List<AgentClient.MonitorStream> streams = new ArrayList<>();
    ApiServer server;
    Path socket;

    /** The fake API with a monitor: every stream takes from its own queue. */
    static final class EventsApi extends ApiServerTest.FakeApi {
        final List<LinkedBlockingQueue<Messages.MonitorEvent>> queues = new CopyOnWriteArrayList<>();
        final List<Map<String, List<String>>> queries = new CopyOnWriteArrayList<>();
        final AtomicLong lost = new AtomicLong();
        final AtomicLong closed = new AtomicLong();

        @Override
        public EventStream monitor(Map<String, List<String>> query) {
            if (query.containsKey("bad")) {
                throw ApiFailure.invalid("bad", "bad is bad");
            }
            queries.add(query);
            LinkedBlockingQueue<Messages.MonitorEvent> queue = new LinkedBlockingQueue<>();
            queues.add(queue);
            return new EventStream() {
                @Override
                public List<Messages.MonitorEvent> next(Duration timeout, int max) throws InterruptedException {
                    Messages.MonitorEvent e = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
                    return e == null ? List.of() : List.of(e);
                }

                @Override
                public long lost() {
                    return lost.get();
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                }
            };
        }
    }

    static Messages.MonitorEvent drop(int port) {
        return new Messages.MonitorEvent("2026-01-01T00:00:00Z", "drop", "dropped", "invalid_source_ip", "egress", 4,
                1, "ns/a", 5, 5, "10.0.0.99", "10.0.0.3", "UDP", 40000, port, 74, null);
    }

    void start(ApiLimits limits) {
        socket = dir.resolve("run/api.sock");
        server = new ApiServer(socket, api, ApiAccess.rootOnly(), limits).start();
    }

    AgentClient.MonitorStream open(String query) {
        AgentClient.MonitorStream s = new AgentClient(socket, Duration.ofSeconds(10)).monitor(query);
        streams.add(s);
        return s;
    }

    /** The next line that is a datapath event (heartbeats and lost lines collected into others). */
    static Messages.MonitorEvent nextEvent(AgentClient.MonitorStream s, List<Messages.MonitorEvent> others) {
        for (Messages.MonitorEvent e = s.next(); e != null; e = s.next()) {
            if (e.isEvent()) {
                return e;
            }
            others.add(e);
        }
        return null;
    }

    @AfterEach
    void stop() {
        streams.forEach(AgentClient.MonitorStream::close);
        if (server != null) {
            server.close();
        }
    }

    @Test
    void eventsStreamAsLinesLongPastTheRequestTimeLimitWithHeartbeatsBetween() throws Exception {
        start(ApiLimits.DEFAULT.withTimes(Duration.ofSeconds(1), Duration.ofMillis(300)));
        AgentClient.MonitorStream s = open("type=drop&port=53,80&port=443");
        assertEquals(Map.of("type", List.of("drop"), "port", List.of("53,80", "443")), api.queries.get(0),
                "the query as given");
        api.queues.get(0).add(drop(53));
        List<Messages.MonitorEvent> others = new ArrayList<>();
        assertEquals(drop(53), nextEvent(s, others));

        // Well past the 300 ms limit per request and the 1.3 s idle timeout: the stream lives on.
        Thread.sleep(3000);
        api.queues.get(0).add(drop(80));
        assertEquals(drop(80), nextEvent(s, others));
        assertTrue(others.stream().anyMatch(e -> e.type().equals("heartbeat")), "heartbeats: " + others);
    }

    @Test
    void eventsTheStreamCouldNotQueueAreReportedAsLost() {
        start(ApiLimits.DEFAULT);
        AgentClient.MonitorStream s = open("");
        api.lost.set(7);
        api.queues.get(0).add(drop(53));
        List<Messages.MonitorEvent> others = new ArrayList<>();
        assertEquals(drop(53), nextEvent(s, others));
        assertEquals(List.of(7L), others.stream().filter(e -> e.type().equals("lost")).map(Messages.MonitorEvent::lost)
                .toList());
    }

    @Test
    void aBadQueryIsAnswered400NamingTheParameter() {
        start(ApiLimits.DEFAULT);
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, () -> open("bad=1"));
        assertEquals(400, e.status());
        assertEquals("bad", e.field());
    }

    @Test
    void streamsBeyondTheCapAreRefused503AndAClosedOneFreesItsPlace() throws Exception {
        start(ApiLimits.DEFAULT);
        for (int i = 0; i < MonitorStreams.MAX_STREAMS; i++) {
            open("");
        }
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, () -> open(""));
        assertEquals(503, e.status());
        assertTrue(e.getMessage().contains("monitor streams"), e.getMessage());
        assertEquals("ok", new AgentClient(socket, Duration.ofSeconds(5)).health().status(),
                "other requests are served meanwhile");

        streams.get(0).close();
        // The server notices at its next write (a heartbeat at the latest); then the place is free.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (api.closed.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(1, api.closed.get(), "the closed stream's subscription was closed");
        while (true) { // its thread is back a moment after the subscription closed
            try {
                open("");
                break;
            } catch (AgentClient.ApiException refused) {
                assertTrue(System.nanoTime() < deadline, "the place was never freed");
                Thread.sleep(20);
            }
        }
    }

    @Test
    void closingTheServerEndsEveryStreamAndItsSubscription() {
        start(ApiLimits.DEFAULT);
        AgentClient.MonitorStream s = open("");
        server.close();
        assertNull(nextEvent(s, new ArrayList<>()), "the stream ended");
        assertEquals(1, api.closed.get());
    }
}
