package io.vesicle.agent.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.vesicle.agent.util.Throwables;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Http;
import io.vesicle.api.Messages;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The local API on a unix socket: HTTP/1.1 framed by {@link Http}, one request per connection,
 * JSON by {@link AgentClient#JSON}. Requests are routed by method and path, their bodies checked
 * and decoded, and handed to an {@link Api}; every failure becomes a JSON error answer, and no
 * request can stop the server.
 *
 * <p>The socket file is bound under a temporary name, made 0600 and renamed into place, so it is
 * never reachable with other permissions and exists only while requests are served. A stale file
 * left by a killed agent is replaced; a live agent on the same path is refused.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    /** Concurrent requests; more wait for a worker. Parallel CNI ADDs each hold one. */
    public static final int WORKERS = 16;
    /** A client must send its whole request within this time. */
    public static final long READ_TIMEOUT_MILLIS = 10_000;
    /** On close, in-flight requests get this long to finish. */
    static final long DRAIN_MILLIS = 10_000;

    private final Path socket;
    private final Api api;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService deadlines;
    private ServerSocketChannel server;
    private Object socketKey;
    private Thread acceptor;
    private volatile boolean closing;

    public ApiServer(Path socket, Api api) {
        this.socket = Objects.requireNonNull(socket, "socket");
        this.api = Objects.requireNonNull(api, "api");
        AtomicInteger count = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> daemon(r, "vesicle-api-" + count.incrementAndGet()));
        this.workers.allowCoreThreadTimeOut(true);
        this.deadlines = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "vesicle-api-deadline"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public Path socket() {
        return socket;
    }

    /** Binds the socket and starts serving. */
    public synchronized ApiServer start() {
        try {
            prepareDirectory();
            refuseLiveAgent();
            Path tmp = socket.resolveSibling("." + ProcessHandle.current().pid() + ".sock");
            Files.deleteIfExists(tmp);
            ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.bind(UnixDomainSocketAddress.of(tmp));
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                Files.move(tmp, socket, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                socketKey = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            } catch (IOException | RuntimeException e) {
                channel.close();
                Files.deleteIfExists(tmp);
                throw e;
            }
            server = channel;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve the API on " + socket + ": " + e.getMessage(), e);
        }
        acceptor = daemon(this::acceptLoop, "vesicle-api-accept");
        acceptor.start();
        return this;
    }

    /** The parent is created 0700 when missing; an existing one is left as it is. */
    private void prepareDirectory() throws IOException {
        Path parent = socket.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS) && !Files.readAttributes(socket, BasicFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IOException(socket + " exists and is not a socket");
        }
    }

    private void refuseLiveAgent() throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            probe.shutdownOutput();
        } catch (IOException e) {
            LOG.info("api: replacing the stale socket " + socket + " (" + e.getMessage() + ")");
            return;
        }
        throw new IOException("another agent is serving on " + socket);
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                LOG.error("api: accept on " + socket + " failed" + ": " + Throwables.describe(e));
                sleepQuietly(100);
                continue;
            }
            try {
                workers.execute(() -> serve(client));
            } catch (RuntimeException e) {
                closeQuietly(client); // rejected: we are closing
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client) {
            InputStream in = Channels.newInputStream(client);
            OutputStream out = Channels.newOutputStream(client);
            Http.Request request;
            ScheduledFuture<?> deadline = deadlines.schedule(() -> closeQuietly(client), READ_TIMEOUT_MILLIS,
                    TimeUnit.MILLISECONDS);
            try {
                request = Http.readRequest(in);
            } catch (Http.MalformedException e) {
                String reason = e.getMessage();
                boolean tooLarge = reason != null && (reason.startsWith("body of") || reason.startsWith("headers longer"));
                answer(out, tooLarge ? 413 : 400, error(reason));
                return;
            } finally {
                deadline.cancel(false);
            }
            long start = System.nanoTime();
            Answer answer = handle(request);
            answer(out, answer.status, answer.body);
            if (!request.method().equals("GET") || answer.status >= 500) {
                LOG.info(String.format("api: %s %s %d in %.1f ms%s", request.method(), request.path(), answer.status,
                        (System.nanoTime() - start) / 1e6, answer.status >= 400 ? ": " + reason(answer) : ""));
            }
        } catch (IOException e) {
            // The client went away or timed out; nothing to answer.
        } catch (Throwable t) {
            LOG.error("api: serving a request failed" + ": " + Throwables.describe(t));
        }
    }

    record Answer(int status, byte[] body) {
    }

    /** Routes, decodes and runs one request; never throws. */
    Answer handle(Http.Request request) {
        try {
            return new Answer(200, json(route(request)));
        } catch (ApiFailure f) {
            return new Answer(f.status(), json(new Messages.ApiError(f.getMessage(), f.field())));
        } catch (Unavailable u) {
            return new Answer(503, json(u.body));
        } catch (Throwable t) {
            LOG.error("api: " + request.method() + " " + request.path() + " failed" + ": " + Throwables.describe(t));
            return new Answer(500, error("internal error: " + Throwables.describe(t)));
        }
    }

    /** A 503 with a body of its own (health). */
    private static final class Unavailable extends RuntimeException {
        final Object body;

        Unavailable(Object body) {
            super(null, null, false, false);
            this.body = body;
        }
    }

    private Object route(Http.Request request) {
        String method = request.method();
        String path = request.path();
        if (!path.startsWith("/")) {
            throw ApiFailure.badRequest("request target '" + path + "' must be an absolute path");
        }
        int query = path.indexOf('?');
        if (query >= 0) {
            path = path.substring(0, query);
        }
        switch (path) {
            case ApiPaths.HEALTHZ:
                allow(method, "GET");
                Messages.Health health = api.health();
                if (!"ok".equals(health.status())) {
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("status", health.status());
                    body.put("reason", health.reason());
                    body.put("error", health.reason());
                    throw new Unavailable(body);
                }
                return health;
            case ApiPaths.STATUS:
                allow(method, "GET");
                return api.status();
            case ApiPaths.CONFIG:
                allow(method, "GET");
                return api.config();
            case ApiPaths.IPAM_ALLOCATE:
                allow(method, "POST");
                return api.allocate(StrictJson.decode(request.body(), Messages.IpamRequest.class));
            case ApiPaths.IPAM_RELEASE:
                allow(method, "POST");
                return api.release(StrictJson.decode(request.body(), Messages.IpamRequest.class));
            case ApiPaths.GC:
                allow(method, "POST");
                return api.gc(StrictJson.decode(request.body(), Messages.GcRequest.class));
            case ApiPaths.ENDPOINTS:
                allow(method, "GET", "PUT");
                if (method.equals("GET")) {
                    return api.endpoints();
                }
                return api.createEndpoint(StrictJson.decode(request.body(), Messages.CreateEndpoint.class));
            default:
                break;
        }
        String prefix = ApiPaths.ENDPOINTS + "/";
        if (path.startsWith(prefix)) {
            List<String> segments = List.of(path.substring(prefix.length()).split("/", -1));
            if (segments.size() == 2 || (segments.size() == 3 && segments.get(2).equals("check"))) {
                String containerID = decodeSegment(segments.get(0), "containerID");
                String ifname = decodeSegment(segments.get(1), "ifname");
                if (segments.size() == 3) {
                    allow(method, "POST");
                    return api.checkEndpoint(containerID, ifname);
                }
                allow(method, "GET", "DELETE");
                return method.equals("GET") ? api.endpoint(containerID, ifname)
                        : api.deleteEndpoint(containerID, ifname);
            }
        }
        throw ApiFailure.notFound("no such resource: " + path);
    }

    private static void allow(String method, String... allowed) {
        for (String a : allowed) {
            if (a.equals(method)) {
                return;
            }
        }
        throw new ApiFailure(405, "method " + method + " is not allowed here (allowed: " + String.join(", ", allowed) + ")");
    }

    /** A path segment with %XX escapes decoded; empty or undecodable segments are refused. */
    static String decodeSegment(String segment, String name) {
        if (segment.isEmpty()) {
            throw ApiFailure.badRequest(name + " is missing from the path");
        }
        if (segment.indexOf('%') < 0) {
            return segment;
        }
        byte[] bytes = new byte[segment.length()];
        int n = 0;
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c == '%') {
                if (i + 2 >= segment.length() || Character.digit(segment.charAt(i + 1), 16) < 0
                        || Character.digit(segment.charAt(i + 2), 16) < 0) {
                    throw ApiFailure.badRequest(name + " '" + segment + "' has a bad % escape");
                }
                bytes[n++] = (byte) Integer.parseInt(segment.substring(i + 1, i + 3), 16);
                i += 2;
            } else {
                bytes[n++] = (byte) c;
            }
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    private static byte[] json(Object value) {
        try {
            return AgentClient.JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode an answer: " + e.getMessage(), e);
        }
    }

    static byte[] error(String reason) {
        return json(new Messages.ApiError(reason == null ? "unknown error" : reason));
    }

    private static String reason(Answer answer) {
        try {
            return AgentClient.JSON.readTree(answer.body).path("error").asText();
        } catch (IOException e) {
            return "";
        }
    }

    private static void answer(OutputStream out, int status, byte[] body) throws IOException {
        Http.writeResponse(out, status, body);
    }

    /**
     * Stops accepting, lets in-flight requests finish (up to {@link #DRAIN_MILLIS}), and removes
     * the socket file if it is still the one this server bound.
     */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        if (server != null) {
            closeQuietly(server);
            removeSocketFile();
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(DRAIN_MILLIS, TimeUnit.MILLISECONDS)) {
                LOG.warn("api: requests still running after " + DRAIN_MILLIS + " ms; abandoning them");
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        deadlines.shutdownNow();
    }

    private void removeSocketFile() {
        try {
            Object key = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (Objects.equals(key, socketKey)) {
                Files.deleteIfExists(socket);
            }
        } catch (IOException e) {
            // Already gone, or replaced by someone else's: not ours to remove.
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
