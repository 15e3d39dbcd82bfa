package io.vesicle.agent.api;

import io.vesicle.api.ApiPaths;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request from head to answer without blocking a server thread: the body is read as it
 * arrives (refused past the limit), the request then waits in the workers' bounded queue, and the
 * answer is whichever comes first of the handler's result and the time limit. Every answer is
 * JSON with a Content-Length and closes the connection (one request per connection: the read
 * deadline of the next request would otherwise start from an idle connection).
 */
final class ExchangeHandler extends Handler.Abstract.NonBlocking {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private final ApiRoutes routes;
    private final ApiLimits limits;
    private final GuardedConnectionFactory connections;
    private final ExecutorService workers;
    private final Scheduler scheduler;
    private final Api api;
    private final MonitorStreams monitors;
    /** Oversize requests can come by the thousand: their lines are throttled, not the others'. */
    private final ThrottledLog oversize = new ThrottledLog(LOG);

    ExchangeHandler(ApiRoutes routes, ApiLimits limits, GuardedConnectionFactory connections,
                    ExecutorService workers, Scheduler scheduler, Api api, MonitorStreams monitors) {
        this.api = api;
        this.monitors = monitors;
        this.routes = routes;
        this.limits = limits;
        this.connections = connections;
        this.workers = workers;
        this.scheduler = scheduler;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        if (request.getHttpURI().getPath().equals(ApiPaths.MONITOR) && request.getLength() <= 0) {
            // A stream: its whole request is its head, and it is answered for as long as it is read.
            connections.requestRead(request.getConnectionMetaData().getConnection());
            monitors.start(api, request, response, callback);
            return true;
        }
        Exchange exchange = new Exchange(request, response, callback);
        long declared = request.getLength();
        if (declared > limits.maxBodyBytes()) {
            exchange.answer(ApiRoutes.Answer.error(413, "a body of " + declared + " bytes is larger than the limit of "
                    + limits.maxBodyBytes() + " bytes"));
        } else {
            exchange.run();
        }
        return true;
    }

    /** One request: reads its body (run() is also the demand callback), then has a worker handle it. */
    private final class Exchange implements Runnable {
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final long startNanos = System.nanoTime();
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final AtomicBoolean answered = new AtomicBoolean();
        private volatile Scheduler.Task timeLimit;

        Exchange(Request request, Response response, Callback callback) {
            this.request = request;
            this.response = response;
            this.callback = callback;
        }

        @Override
        public void run() {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    long declared = request.getLength();
                    answer(ApiRoutes.Answer.error(400, "the request body ended after " + body.size() + " bytes"
                            + (declared >= 0 ? " of " + declared : "") + ": " + chunk.getFailure().getMessage()));
                    return;
                }
                ByteBuffer bytes = chunk.getByteBuffer();
                if (body.size() + bytes.remaining() > limits.maxBodyBytes()) {
                    chunk.release();
                    answer(ApiRoutes.Answer.error(413, "the body is larger than the limit of " + limits.maxBodyBytes()
                            + " bytes"));
                    return;
                }
                byte[] copy = new byte[bytes.remaining()];
                bytes.get(copy);
                body.write(copy, 0, copy.length);
                boolean last = chunk.isLast();
                chunk.release();
                if (last) {
                    connections.requestRead(request.getConnectionMetaData().getConnection());
                    dispatch();
                    return;
                }
            }
        }

        private void dispatch() {
            try {
                workers.execute(this::work);
            } catch (RejectedExecutionException e) {
                answer(ApiRoutes.Answer.error(503, workers.isShutdown() ? "the agent is stopping"
                        : "the agent is busy: " + limits.queuedRequests() + " requests are waiting; try again"));
                return;
            }
            long millis = limits.requestTimeLimit().toMillis();
            timeLimit = scheduler.schedule(() -> answer(ApiRoutes.Answer.error(503, "no answer within " + millis
                    + " ms (the agent's limit per request); the request may still complete")), millis,
                    TimeUnit.MILLISECONDS);
        }

        private void work() {
            if (answered.get()) {
                return; // the time limit passed while it waited: never started
            }
            ApiRoutes.Answer answer = routes.handle(request.getMethod(), request.getHttpURI().getPath(),
                    body.toByteArray());
            if (!answer(answer)) {
                LOG.warn(String.format("api: %s %s finished with %d after %.1f ms, past the time limit",
                        request.getMethod(), request.getHttpURI().getPath(), answer.status(), millisSinceStart()));
            }
        }

        /** Sends answer unless one was sent already; says whether it did. */
        boolean answer(ApiRoutes.Answer answer) {
            if (!answered.compareAndSet(false, true)) {
                return false;
            }
            Scheduler.Task limit = timeLimit;
            if (limit != null) {
                limit.cancel();
            }
            if (!request.getMethod().equals("GET") || answer.status() >= 500) {
                String line = String.format("api: %s %s %d in %.1f ms%s", request.getMethod(),
                        request.getHttpURI().getPath(), answer.status(), millisSinceStart(),
                        answer.status() >= 400 ? ": " + answer.reason() : "");
                if (answer.status() == 413) {
                    oversize.warn(() -> line);
                } else {
                    LOG.info(line);
                }
            }
            send(response, answer, callback);
            return true;
        }

        private double millisSinceStart() {
            return (System.nanoTime() - startNanos) / 1e6;
        }
    }

    static void send(Response response, ApiRoutes.Answer answer, Callback callback) {
        response.setStatus(answer.status());
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, answer.body().length);
        response.write(true, ByteBuffer.wrap(answer.body()), callback);
    }

    /**
     * Jetty's own refusals (a malformed request line or header, a head over the limit, a request
     * while stopping) as JSON errors like the API's; a head too large is 413 as for bodies.
     */
    static final class JsonErrors implements Request.Handler {
        private final int maxHeadBytes;

        JsonErrors(int maxHeadBytes) {
            this.maxHeadBytes = maxHeadBytes;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            int status = response.getStatus();
            String reason = (String) request.getAttribute(ErrorHandler.ERROR_MESSAGE);
            Throwable cause = (Throwable) request.getAttribute(ErrorHandler.ERROR_EXCEPTION);
            if (cause instanceof org.eclipse.jetty.http.HttpException http) {
                status = http.getCode();
                reason = reason == null ? http.getReason() : reason;
            }
            if (reason == null) {
                reason = HttpStatus.getMessage(status);
            }
            for (Throwable c = cause; c != null; c = c.getCause()) {
                if (!(c instanceof org.eclipse.jetty.http.HttpException) && c.getMessage() != null) {
                    reason += ": " + c.getMessage(); // e.g. what is wrong with the URI
                }
            }
            if (status == HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431 || status == HttpStatus.URI_TOO_LONG_414) {
                status = HttpStatus.PAYLOAD_TOO_LARGE_413;
                reason = "the request line and headers are larger than the limit of " + maxHeadBytes + " bytes";
            } else if (status == HttpStatus.SERVICE_UNAVAILABLE_503) {
                reason = "the agent is stopping";
            } else {
                reason = "malformed request: " + reason;
            }
            send(response, ApiRoutes.Answer.error(status, reason), callback);
            return true;
        }
    }
}
