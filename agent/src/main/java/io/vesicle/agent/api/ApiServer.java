package io.vesicle.agent.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local API on a unix socket: HTTP/1.1 served by Jetty, one request per connection, JSON as
 * {@link ApiRoutes} routes it to an {@link Api}. Peers are admitted by {@link ApiAccess}; what one
 * agent takes on at a time is bounded by {@link ApiLimits}; every failure becomes a JSON error
 * answer, and no request can stop the server.
 *
 * <p>The socket's directory must be root's and writable only by root ({@link SocketDirectory}).
 * The socket is bound in a private (0700) directory beside it, given its mode (0600, or 0660 with
 * the API group) and renamed into place, so it is never reachable with other permissions and
 * exists only while requests are served. A stale file left by a killed agent is replaced; a live
 * agent on the same path is refused; anything else at the path, a symlink included, is refused
 * and never followed.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    /** Jetty's own threads: accepting, the selector, reading bodies and writing answers (never blocked). */
    private static final int SERVER_THREADS = 6;
    /** Buffers Jetty keeps for reuse, at most (heap and direct each). */
    private static final long POOLED_BUFFER_BYTES = 4L * 1024 * 1024;

    private final Path socket;
    private final ApiRoutes routes;
    private final ApiAccess access;
    private final ApiLimits limits;
    private final ThreadPoolExecutor workers;
    private final Api api;
    private final MonitorStreams monitors;
    private Server server;
    private GuardedConnectionFactory connections;
    private Object socketKey;
    private boolean closed;

    /** Root only, {@link ApiLimits#DEFAULT}. */
    public ApiServer(Path socket, Api api) {
        this(socket, api, ApiAccess.rootOnly(), ApiLimits.DEFAULT);
    }

    public ApiServer(Path socket, Api api, ApiAccess access, ApiLimits limits) {
        this.socket = Objects.requireNonNull(socket, "socket").toAbsolutePath();
        this.routes = new ApiRoutes(api);
        this.api = api;
        this.access = Objects.requireNonNull(access, "access");
        this.limits = Objects.requireNonNull(limits, "limits");
        // Heartbeats well inside the connector's idle timeout, which ends only streams nobody reads.
        Duration idle = idleTimeout();
        this.monitors = new MonitorStreams(MonitorStreams.MAX_STREAMS,
                idle.dividedBy(3).compareTo(MonitorStreams.HEARTBEAT) < 0 ? idle.dividedBy(3) : MonitorStreams.HEARTBEAT);
        AtomicInteger count = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(limits.workers(), limits.workers(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(1, limits.queuedRequests())), r -> {
                    Thread t = new Thread(r, "vesicle-api-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.workers.allowCoreThreadTimeOut(true);
    }

    public Path socket() {
        return socket;
    }

    public ApiLimits limits() {
        return limits;
    }

    /** Open connections (admitted ones), for tests and status. */
    public int openConnections() {
        return connections == null ? 0 : connections.openConnections();
    }

    /**
     * Checks the socket's directory, binds the socket and starts serving.
     *
     * @throws IllegalStateException naming the directory when it is not safe, or when another agent
     *                               serves on the socket
     * @throws UncheckedIOException  when the socket cannot be bound
     */
    public synchronized ApiServer start() {
        Path dir = socket.getParent();
        SocketDirectory.prepare(dir, access.group());
        Path privateDir = dir.resolve("." + ProcessHandle.current().pid());
        try {
            refuseOccupiedPath();
            SocketDirectory.removeTree(privateDir);
            Files.createDirectory(privateDir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Path bound = privateDir.resolve("s");
            server = newServer(bound);
            server.start();
            // Only this process can reach the private directory: no link to follow can appear in it.
            PosixFileAttributeView view = Files.getFileAttributeView(bound, PosixFileAttributeView.class);
            if (access.group() != null) {
                view.setGroup(access.group());
            }
            view.setPermissions(PosixFilePermissions.fromString(access.group() != null ? "rw-rw----" : "rw-------"));
            Files.move(bound, socket, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            socketKey = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (Exception e) {
            stopServer();
            monitors.close();
            workers.shutdownNow();
            throw e instanceof IllegalStateException ise ? ise
                    : new UncheckedIOException("cannot serve the API on " + socket + ": " + e.getMessage(),
                    e instanceof IOException io ? io : new IOException(e));
        } finally {
            SocketDirectory.removeTree(privateDir);
        }
        LOG.info("api: serving on " + socket + " (" + access + ")");
        return this;
    }

    private Server newServer(Path bound) {
        QueuedThreadPool threads = new QueuedThreadPool(SERVER_THREADS, 2);
        threads.setName("vesicle-api-server");
        threads.setDaemon(true);
        threads.setReservedThreads(0);
        ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("vesicle-api-timer", true);
        Server jetty = new Server(threads, scheduler, new ArrayByteBufferPool(0, 1024, 65536, 64, POOLED_BUFFER_BYTES,
                POOLED_BUFFER_BYTES));
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(limits.maxHeadBytes());
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        http.setSendXPoweredBy(false);
        // A refused body is not drained: the connection closes after the answer (one per connection anyway).
        http.setMaxUnconsumedRequestContentReads(0);
        connections = new GuardedConnectionFactory(http, access, limits);
        UnixDomainServerConnector connector = new UnixDomainServerConnector(jetty, null, null, null, 1, 1,
                connections);
        connector.setUnixDomainPath(bound);
        connector.setAcceptQueueSize(128);
        connector.setIdleTimeout(idleTimeout().toMillis());
        jetty.addConnector(connector);
        jetty.setHandler(new GracefulHandler(new ExchangeHandler(routes, limits, connections, workers, scheduler, api,
                monitors)));
        jetty.setErrorHandler(new ExchangeHandler.JsonErrors(limits.maxHeadBytes()));
        jetty.setStopTimeout(limits.drain().toMillis());
        jetty.setStopAtShutdown(false);
        return jetty;
    }

    /** Reads are bounded by the read deadline; this only ends connections whose answer is not read. */
    private Duration idleTimeout() {
        return limits.requestTimeLimit().plus(limits.readDeadline());
    }

    /** A live agent is refused; a stale socket is left to be replaced; anything else is refused. */
    private void refuseOccupiedPath() throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IllegalStateException(socket + " exists and is not a socket"
                    + (Files.isSymbolicLink(socket) ? " (a symbolic link)" : "") + "; remove it or choose another path");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            probe.shutdownOutput();
        } catch (IOException e) {
            LOG.info("api: replacing the stale socket " + socket + " (" + e.getMessage() + ")");
            return;
        }
        throw new IllegalStateException("another agent is serving on " + socket);
    }

    /**
     * Stops accepting (the socket file is removed if it is still the one this server bound), lets
     * in-flight requests finish (up to {@link ApiLimits#drain()}), then closes every connection.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeSocketFile();
        monitors.close(); // streams never finish by themselves: the drain would wait for them
        stopServer();
        workers.shutdown();
    }

    private void stopServer() {
        if (server == null) {
            return;
        }
        try {
            server.stop();
        } catch (Exception e) {
            LOG.warn("api: stopping the server: " + e);
        }
    }

    private void removeSocketFile() {
        if (socketKey == null) {
            return;
        }
        try {
            Object key = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (Objects.equals(key, socketKey)) {
                Files.deleteIfExists(socket);
            }
        } catch (IOException e) {
            // Already gone, or replaced by someone else's: not ours to remove.
        }
    }
}
