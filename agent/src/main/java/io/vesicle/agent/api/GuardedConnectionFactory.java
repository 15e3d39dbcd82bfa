package io.vesicle.agent.api;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/1.1 connections, each admitted first: the peer must pass {@link ApiAccess} (SO_PEERCRED),
 * and there must be room under the connection cap; otherwise the connection is closed as soon as
 * it is accepted, before a byte of it is read. An admitted connection must deliver its whole
 * request within the read deadline, counted from accept ({@link #requestRead} stops the clock).
 */
final class GuardedConnectionFactory extends HttpConnectionFactory {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private final ApiAccess access;
    private final ApiLimits limits;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<Connection, Scheduler.Task> readDeadlines = new ConcurrentHashMap<>();
    private final ThrottledLog refusedPeers = new ThrottledLog(LOG);
    private final ThrottledLog overCap = new ThrottledLog(LOG);
    private final ThrottledLog tooSlow = new ThrottledLog(LOG);

    GuardedConnectionFactory(HttpConfiguration config, ApiAccess access, ApiLimits limits) {
        super(config);
        this.access = access;
        this.limits = limits;
    }

    int openConnections() {
        return open.get();
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        String refusal = peerRefusal(endPoint);
        if (refusal != null) {
            refusedPeers.warn(() -> "api: refused a connection: " + refusal);
            return new Refused(endPoint, connector.getExecutor());
        }
        if (open.incrementAndGet() > limits.maxConnections()) {
            open.decrementAndGet();
            overCap.warn(() -> "api: refused a connection: " + limits.maxConnections() + " are open (the limit)");
            return new Refused(endPoint, connector.getExecutor());
        }
        Connection connection = super.newConnection(connector, endPoint);
        connection.addEventListener(new Connection.Listener() {
            @Override
            public void onClosed(Connection closed) {
                open.decrementAndGet();
                requestRead(closed);
            }
        });
        readDeadlines.put(connection, connector.getScheduler().schedule(() -> expire(connection),
                limits.readDeadline().toMillis(), TimeUnit.MILLISECONDS));
        return connection;
    }

    private String peerRefusal(EndPoint endPoint) {
        if (!(endPoint.getTransport() instanceof SocketChannel channel)) {
            return "not a socket channel: " + endPoint.getTransport();
        }
        try {
            UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            return access.refusal(peer);
        } catch (IOException | RuntimeException e) {
            return "cannot read the peer's credentials: " + e;
        }
    }

    /** The connection's request has arrived whole: the read deadline no longer applies. */
    void requestRead(Connection connection) {
        Scheduler.Task deadline = readDeadlines.remove(connection);
        if (deadline != null) {
            deadline.cancel();
        }
    }

    private void expire(Connection connection) {
        if (readDeadlines.remove(connection) != null) {
            tooSlow.warn(() -> "api: closed a connection that did not send its whole request within "
                    + limits.readDeadline().toMillis() + " ms of connecting");
            connection.getEndPoint().close(new TimeoutException("no whole request within "
                    + limits.readDeadline().toMillis() + " ms"));
        }
    }

    /** A connection closed as soon as it opens: nothing is read from it. */
    private static final class Refused extends AbstractConnection {
        Refused(EndPoint endPoint, Executor executor) {
            super(endPoint, executor);
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().close();
        }

        @Override
        public void onFillable() {
            // never asked to fill
        }
    }
}
