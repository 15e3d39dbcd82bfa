package io.vesicle.agent.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GET /v1/monitor: newline-delimited JSON for as long as the client reads. A stream is no request
 * with an answer to wait for: it takes no API worker and no request time limit applies; it has a
 * thread of its own, at most {@link #MAX_STREAMS} at a time (more are answered 503 at once). It
 * starts with a heartbeat line and writes another after {@link #HEARTBEAT} of quiet, so a live client keeps its connection
 * while the connector's idle timeout still ends one that stopped reading (its write never
 * completes); meanwhile its queue fills and the events it misses are counted and reported in a
 * "lost" line. Closing the server ends every stream.
 */
final class MonitorStreams {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    static final int MAX_STREAMS = 16;
    static final Duration HEARTBEAT = Duration.ofSeconds(5);
    /** Lines written at once when events queue up. */
    private static final int BATCH = 256;

    private final ThreadPoolExecutor threads;
    private final Duration heartbeat;

    MonitorStreams(int maxStreams, Duration heartbeat) {
        this.heartbeat = heartbeat;
        AtomicInteger count = new AtomicInteger();
        this.threads = new ThreadPoolExecutor(0, maxStreams, 10, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "vesicle-monitor-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Query parameters by name, each with its values in order ("a=1&a=2,3" gives a: [1, 2,3]). */
    static Map<String, List<String>> query(Request request) {
        Map<String, List<String>> query = new LinkedHashMap<>();
        Fields fields = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
        for (Fields.Field f : fields) {
            query.computeIfAbsent(f.getName(), k -> new ArrayList<>()).addAll(f.getValues());
        }
        return query;
    }

    /** Starts streaming events to the client, or answers why not. */
    void start(Api api, Request request, Response response, Callback callback) {
        if (!request.getMethod().equals("GET")) {
            ExchangeHandler.send(response, ApiRoutes.Answer.error(405, "method " + request.getMethod()
                    + " is not allowed here (allowed: GET)"), callback);
            return;
        }
        Api.EventStream events;
        try {
            events = api.monitor(query(request));
        } catch (ApiFailure f) {
            ExchangeHandler.send(response, new ApiRoutes.Answer(f.status(), json(new Messages.ApiError(f.getMessage(),
                    f.field()))), callback);
            return;
        } catch (RuntimeException e) {
            ExchangeHandler.send(response, ApiRoutes.Answer.error(400, "bad query: " + e.getMessage()), callback);
            return;
        }
        try {
            threads.execute(() -> stream(events, request, response, callback));
        } catch (RejectedExecutionException e) {
            events.close();
            ExchangeHandler.send(response, ApiRoutes.Answer.error(503, threads.isShutdown() ? "the agent is stopping"
                    : MAX_STREAMS + " monitor streams are open (the limit); try again later"), callback);
        }
    }

    private void stream(Api.EventStream events, Request request, Response response, Callback callback) {
        String what = request.getHttpURI().getPathQuery();
        long sent = 0;
        long lostReported = 0;
        LOG.info("api: {} streaming", what);
        try (events) {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-ndjson");
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE);
            // The head and a first line at once: the client knows it is subscribed, and has its decoder warm.
            ByteArrayOutputStream first = new ByteArrayOutputStream();
            line(first, Messages.MonitorEvent.heartbeat(Instant.now().toString()));
            write(response, first.toByteArray());
            while (true) {
                List<Messages.MonitorEvent> batch = events.next(heartbeat, BATCH);
                ByteArrayOutputStream lines = new ByteArrayOutputStream();
                long lost = events.lost();
                if (lost > lostReported) {
                    line(lines, Messages.MonitorEvent.lost(Instant.now().toString(), lost - lostReported));
                    lostReported = lost;
                }
                for (Messages.MonitorEvent e : batch) {
                    line(lines, e);
                }
                if (lines.size() == 0) {
                    line(lines, Messages.MonitorEvent.heartbeat(Instant.now().toString()));
                }
                write(response, lines.toByteArray());
                sent += batch.size();
            }
        } catch (InterruptedException e) {
            // the server is closing: end the stream properly
            response.write(true, ByteBuffer.allocate(0), callback);
            LOG.info("api: {} ended by the agent after {} events ({} lost)", what, sent, lostReported);
        } catch (Exception e) {
            callback.failed(e);
            LOG.info("api: {} ended after {} events ({} lost): {}", what, sent, lostReported, e.toString());
        }
    }

    /** Blocks until written: a client that stops reading is ended by the connector's idle timeout. */
    private static void write(Response response, byte[] bytes) throws Exception {
        Callback.Completable done = new Callback.Completable();
        response.write(false, ByteBuffer.wrap(bytes), done);
        done.get();
    }

    private static void line(ByteArrayOutputStream out, Messages.MonitorEvent event) {
        out.writeBytes(json(event));
        out.write('\n');
    }

    private static byte[] json(Object value) {
        try {
            return AgentClient.JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + value, e);
        }
    }

    /** Ends every stream (their threads are interrupted) and waits a moment for them. */
    void close() {
        threads.shutdownNow();
        try {
            threads.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
