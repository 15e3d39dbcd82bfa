package io.vesicle.agent.metrics;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metrics and probe endpoint over TCP: {@code GET /metrics} (Prometheus text format),
 * {@code GET /healthz} (liveness: the process serves) and {@code GET /readyz} (readiness, see
 * {@link Readiness}). It is reachable from wherever the address is, so it takes little and parses
 * less: GET only (anything else 405), request bodies never read, small request heads, a few
 * threads, a cap on open connections, one request per connection, and every connection closed
 * {@link #CONNECTION_DEADLINE} after it was accepted whatever it is doing, so a client sending
 * its request slowly holds a place under the cap no longer than that.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    /** Jetty's threads, acceptor and selector included: two requests at a time, scrapes are serialised anyway. */
    static final int THREADS = 4;
    /** Connections open at once; further ones wait in the kernel's accept queue. */
    static final int MAX_CONNECTIONS = 8;
    static final int MAX_REQUEST_HEAD_BYTES = 4096;
    static final Duration CONNECTION_DEADLINE = Duration.ofSeconds(10);
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";

    private final InetSocketAddress address;
    private final AgentMetrics metrics;
    private Server server;
    private ServerConnector connector;

    public MetricsServer(InetSocketAddress address, AgentMetrics metrics) {
        this.address = address;
        this.metrics = metrics;
    }

    /**
     * Binds the address and serves.
     *
     * @throws UncheckedIOException naming the address when it cannot be bound (in use, not local)
     */
    public synchronized MetricsServer start() {
        QueuedThreadPool threads = new QueuedThreadPool(THREADS, 2);
        threads.setName("vesicle-metrics");
        threads.setDaemon(true);
        threads.setReservedThreads(0);
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(MAX_REQUEST_HEAD_BYTES);
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        // A request with a body is answered without reading it, then the connection closes.
        http.setMaxUnconsumedRequestContentReads(0);
        connector = new ServerConnector(server, 1, 1, new DeadlineConnectionFactory(http));
        connector.setHost(address.getAddress().getHostAddress());
        connector.setPort(address.getPort());
        connector.setIdleTimeout(CONNECTION_DEADLINE.toMillis());
        connector.setAcceptQueueSize(16);
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(MAX_CONNECTIONS, connector));
        server.setHandler(new Probes());
        server.setStopAtShutdown(false);
        server.setStopTimeout(1000);
        try {
            server.start();
        } catch (Exception e) {
            stop();
            throw new UncheckedIOException("cannot serve metrics on " + describe(address) + ": " + e.getMessage(),
                    e instanceof java.io.IOException io ? io : new java.io.IOException(e));
        }
        LOG.info("metrics: serving /metrics, /healthz and /readyz on {}", describe(address()));
        return this;
    }

    /** The bound address (its port the kernel's choice when the configured one is 0). */
    public synchronized InetSocketAddress address() {
        return new InetSocketAddress(address.getAddress(), connector == null ? address.getPort()
                : connector.getLocalPort());
    }

    static String describe(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    @Override
    public synchronized void close() {
        stop();
    }

    private void stop() {
        if (server == null) {
            return;
        }
        try {
            server.stop();
        } catch (Exception e) {
            LOG.warn("metrics: stopping the server: {}", e.toString());
        }
        server = null;
    }

    /** HTTP/1.1 connections each closed {@link #CONNECTION_DEADLINE} after accept, if still open. */
    private static final class DeadlineConnectionFactory extends HttpConnectionFactory {
        DeadlineConnectionFactory(HttpConfiguration http) {
            super(http);
        }

        @Override
        public Connection newConnection(Connector connector, EndPoint endPoint) {
            Connection connection = super.newConnection(connector, endPoint);
            Scheduler.Task deadline = connector.getScheduler().schedule(() -> endPoint.close(new TimeoutException(
                    "open for " + CONNECTION_DEADLINE.toSeconds() + " s")), CONNECTION_DEADLINE.toMillis(),
                    TimeUnit.MILLISECONDS);
            connection.addEventListener(new Connection.Listener() {
                @Override
                public void onClosed(Connection closed) {
                    deadline.cancel();
                }
            });
            return connection;
        }
    }

    private final class Probes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            if (!HttpMethod.GET.is(request.getMethod())) {
                response.getHeaders().put(HttpHeader.ALLOW, "GET");
                return answer(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, TEXT, "only GET is served\n");
            }
            switch (Request.getPathInContext(request)) {
                case "/metrics":
                    return answer(response, callback, HttpStatus.OK_200, EXPOSITION, metrics.scrape());
                case "/healthz":
                    return answer(response, callback, HttpStatus.OK_200, TEXT, "ok\n");
                case "/readyz": {
                    Optional<String> reason = metrics.readiness().notReadyReason();
                    return reason.isEmpty() ? answer(response, callback, HttpStatus.OK_200, TEXT, "ok\n")
                            : answer(response, callback, HttpStatus.SERVICE_UNAVAILABLE_503, TEXT,
                            "not ready: " + reason.get() + "\n");
                }
                default:
                    return answer(response, callback, HttpStatus.NOT_FOUND_404, TEXT,
                            "not found: /metrics, /healthz and /readyz are served\n");
            }
        }

        private boolean answer(Response response, Callback callback, int status, String type, String body) {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            Content.Sink.write(response, true, body, callback);
            return true;
        }
    }
}
