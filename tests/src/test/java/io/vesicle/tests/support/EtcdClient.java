package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The test's own client of etcd, independent of the agent's: etcd's v3 JSON gateway (grpc-gateway,
 * keys and values base64) over the server's unix socket, since etcd serves the nodes inside a
 * namespace the test JVM is not in. HTTP/1.1 by hand, one connection per call
 * ({@code Connection: close}); a watch is a chunked response of one JSON message per line.
 */
public final class EtcdClient {
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    private final Path socket;

    public EtcdClient(Path socket) {
        this.socket = socket;
    }

    /** One change a watch saw, stamped with System.nanoTime() when the test read it. */
    public record Event(boolean deleted, String key, String value, long revision, long seenNanos) {
    }

    /** Puts key = value (no lease); returns the store's revision after it. */
    public long put(String key, String value) {
        return put(key, value, 0);
    }

    /** Puts key = value attached to lease (0: none); returns the revision after it. */
    public long put(String key, String value, long lease) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("key", b64(key));
        body.put("value", b64(value));
        if (lease != 0) {
            body.put("lease", String.valueOf(lease));
        }
        return call("/v3/kv/put", body).path("header").path("revision").asLong();
    }

    /** Deletes key; returns how many keys went. */
    public long delete(String key) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("key", b64(key));
        return call("/v3/kv/deleterange", body).path("deleted").asLong();
    }

    /** Every key under prefix with its value, sorted by key. */
    public Map<String, String> list(String prefix) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("key", b64(prefix));
        body.put("range_end", B64.encodeToString(rangeEnd(prefix)));
        Map<String, String> out = new TreeMap<>();
        for (JsonNode kv : call("/v3/kv/range", body).path("kvs")) {
            out.put(text(kv.path("key")), text(kv.path("value")));
        }
        return out;
    }

    /** The value of key, or null. */
    public String get(String key) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("key", b64(key));
        JsonNode kvs = call("/v3/kv/range", body).path("kvs");
        return kvs.isEmpty() ? null : text(kvs.get(0).path("value"));
    }

    /** The id of the lease key is attached to (0: none, or no such key). */
    public long leaseOf(String key) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("key", b64(key));
        JsonNode kvs = call("/v3/kv/range", body).path("kvs");
        return kvs.isEmpty() ? 0 : kvs.get(0).path("lease").asLong();
    }

    /** A lease of ttlSeconds; returns its id. */
    public long grantLease(int ttlSeconds) {
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.put("TTL", String.valueOf(ttlSeconds));
        return call("/v3/lease/grant", body).path("ID").asLong();
    }

    /** Whether the server answers its health endpoint with true. */
    public boolean healthy() {
        try {
            return "true".equals(request("GET", "/health", null).path("health").asText());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * A watch of every key under prefix from now on; events arrive on the returned watch's queue
     * as the gateway streams them. Returns once etcd confirmed the watch (created), so nothing
     * that happens after the call is missed.
     */
    public Watch watch(String prefix) {
        ObjectNode create = CniRuntime.JSON.createObjectNode();
        create.put("key", b64(prefix));
        create.put("range_end", B64.encodeToString(rangeEnd(prefix)));
        ObjectNode body = CniRuntime.JSON.createObjectNode();
        body.set("create_request", create);
        Watch watch = new Watch(open("POST", "/v3/watch", body));
        Boolean confirmed;
        try {
            confirmed = watch.created.poll(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (!Boolean.TRUE.equals(confirmed)) {
            watch.close();
            throw new IllegalStateException("etcd did not confirm the watch on " + prefix + " within 10 s");
        }
        return watch;
    }

    /** A running watch: a reader thread turns the stream into events. */
    public static final class Watch implements AutoCloseable {
        private final SocketChannel channel;
        private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        private final BlockingQueue<Boolean> created = new LinkedBlockingQueue<>();

        private Watch(SocketChannel channel) {
            this.channel = channel;
            Thread reader = new Thread(this::read, "etcd-watch");
            reader.setDaemon(true);
            reader.start();
        }

        /** The next event, or null when none came within timeoutMillis. */
        public Event next(long timeoutMillis) {
            try {
                return events.poll(timeoutMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        /** The next event that is wanted (others are dropped); fails when none comes within the bound. */
        public Event await(java.util.function.Predicate<Event> wanted, java.time.Duration within) {
            long deadline = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < deadline) {
                Event e = next(100);
                if (e != null && wanted.test(e)) {
                    return e;
                }
            }
            throw new AssertionError("no such event in the store within " + within);
        }

        private void read() {
            try (InputStream in = Channels.newInputStream(channel)) {
                boolean chunked = readHeaders(in).contains("transfer-encoding: chunked");
                StringBuilder pending = new StringBuilder();
                while (true) {
                    byte[] data = chunked ? readChunk(in) : in.readNBytes(1);
                    if (data == null || data.length == 0 && !chunked) {
                        break;
                    }
                    pending.append(new String(data, StandardCharsets.UTF_8));
                    int newline;
                    while ((newline = pending.indexOf("\n")) >= 0) {
                        String line = pending.substring(0, newline).strip();
                        pending.delete(0, newline + 1);
                        if (!line.isEmpty()) {
                            message(CniRuntime.JSON.readTree(line));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // Closed by the test, or the server went away: the watch simply ends.
            }
            created.offer(Boolean.FALSE);
        }

        private void message(JsonNode json) {
            long now = System.nanoTime();
            JsonNode result = json.path("result");
            if (result.path("created").asBoolean(false)) {
                created.offer(Boolean.TRUE);
            }
            for (JsonNode e : result.path("events")) {
                JsonNode kv = e.path("kv");
                events.add(new Event("DELETE".equals(e.path("type").asText()), text(kv.path("key")),
                        text(kv.path("value")), kv.path("mod_revision").asLong(), now));
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing is all that is wanted.
            }
        }
    }

    // ---- HTTP/1.1 over the unix socket

    private JsonNode call(String path, JsonNode body) {
        JsonNode answer = request("POST", path, body);
        if (answer.has("error") || answer.has("code") && answer.path("code").asInt() != 0) {
            throw new IllegalStateException("etcd " + path + " failed: " + answer);
        }
        return answer;
    }

    private JsonNode request(String method, String path, JsonNode body) {
        try (SocketChannel channel = open(method, path, body); InputStream in = Channels.newInputStream(channel)) {
            String headers = readHeaders(in);
            byte[] content;
            if (headers.contains("transfer-encoding: chunked")) {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                byte[] chunk;
                while ((chunk = readChunk(in)) != null && chunk.length > 0) {
                    all.write(chunk);
                }
                content = all.toByteArray();
            } else {
                content = in.readAllBytes();
            }
            return CniRuntime.JSON.readTree(content);
        } catch (IOException e) {
            throw new IllegalStateException("etcd " + method + " " + path + " over " + socket + ": " + e.getMessage(),
                    e);
        }
    }

    private SocketChannel open(String method, String path, JsonNode body) {
        byte[] content = body == null ? new byte[0] : body.toString().getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n\r\n";
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.allocate(head.length() + content.length);
            out.put(head.getBytes(StandardCharsets.US_ASCII)).put(content).flip();
            while (out.hasRemaining()) {
                channel.write(out);
            }
            return channel;
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Already failing.
                }
            }
            throw new IllegalStateException("etcd " + method + " " + path + " over " + socket + ": " + e.getMessage(),
                    e);
        }
    }

    /** The status line and headers, lower-cased; fails on a status other than 200. */
    private static String readHeaders(InputStream in) throws IOException {
        StringBuilder headers = new StringBuilder();
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            headers.append(line.toLowerCase(Locale.ROOT)).append('\n');
        }
        if (!headers.toString().startsWith("http/1.1 200")) {
            throw new IOException("etcd answered " + headers.toString().strip());
        }
        return headers.toString();
    }

    /** The next chunk's data; empty for the last chunk, null at the end of the stream. */
    private static byte[] readChunk(InputStream in) throws IOException {
        String size = readLine(in);
        if (size.isEmpty()) {
            return null;
        }
        int length = Integer.parseInt(size.split(";")[0].strip(), 16);
        byte[] data = in.readNBytes(length);
        readLine(in);
        return data;
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.US_ASCII);
    }

    private static String b64(String text) {
        return B64.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(JsonNode b64) {
        return b64.isMissingNode() || b64.isNull() ? "" : new String(B64D.decode(b64.asText()), StandardCharsets.UTF_8);
    }

    /** etcd's range end for a prefix: the prefix with its last byte incremented. */
    private static byte[] rangeEnd(String prefix) {
        byte[] end = prefix.getBytes(StandardCharsets.UTF_8);
        end = Arrays.copyOf(end, end.length);
        end[end.length - 1]++;
        return end;
    }
}
