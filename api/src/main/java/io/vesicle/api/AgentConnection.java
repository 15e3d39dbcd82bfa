package io.vesicle.api;

import io.vesicle.api.AgentClient.UnavailableException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One request and its answer over the agent's socket, with a deadline per call (a stuck agent
 * must not hang the container runtime). No JSON here: {@link AgentClient} adds Jackson, the CNI
 * plugin its own small codec, so a one-shot plugin JVM loads no more than this and {@link Http}.
 */
public final class AgentConnection {
    private final Path socket;
    private final Duration timeout;

    public AgentConnection(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    public Path socket() {
        return socket;
    }

    /**
     * Sends the request and reads the answer, whatever its status.
     *
     * @throws UnavailableException when the agent cannot be reached or does not answer in time;
     *                              {@link UnavailableException#connected()} says whether the
     *                              request may have reached it
     */
    public Http.Response exchange(String method, String path, byte[] body) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw unavailable(method, path, message(e), e, false);
        }
        boolean connected = false;
        Deadline deadline = Deadline.start(timeout, () -> closeQuietly(channel));
        try (channel) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            connected = true;
            Http.writeRequest(Channels.newOutputStream(channel), method, path, body);
            return Http.readResponse(new BufferedInputStream(Channels.newInputStream(channel), 8192));
        } catch (IOException e) {
            String reason = deadline.expired() ? "no answer within " + timeout.toMillis() + " ms" : message(e);
            throw unavailable(method, path, reason, e, connected);
        } finally {
            deadline.cancel();
        }
    }

    /** An answer whose body keeps arriving; closing it closes the connection. */
    public static final class Stream implements java.io.Closeable {
        private final SocketChannel channel;
        private final Http.StreamResponse response;

        private Stream(SocketChannel channel, Http.StreamResponse response) {
            this.channel = channel;
            this.response = response;
        }

        public int status() {
            return response.status();
        }

        /** The body as it arrives; reads block until data comes, the agent ends the stream, or close(). */
        public java.io.InputStream body() {
            return response.body();
        }

        /** Ends the stream; a read blocked in another thread returns or fails. */
        @Override
        public void close() {
            closeQuietly(channel);
        }
    }

    /**
     * Sends a request whose answer streams: the deadline covers connecting and the answer's head
     * only, the body arrives for as long as the agent sends it.
     *
     * @throws UnavailableException when the agent cannot be reached or sends no head in time
     */
    public Stream stream(String method, String path) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw unavailable(method, path, message(e), e, false);
        }
        boolean connected = false;
        Deadline deadline = Deadline.start(timeout, () -> closeQuietly(channel));
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            connected = true;
            Http.writeRequest(Channels.newOutputStream(channel), method, path, new byte[0]);
            Http.StreamResponse response = Http.readStreamResponse(
                    new BufferedInputStream(Channels.newInputStream(channel), 8192));
            deadline.cancel();
            return new Stream(channel, response);
        } catch (IOException e) {
            closeQuietly(channel);
            String reason = deadline.expired() ? "no answer within " + timeout.toMillis() + " ms" : message(e);
            throw unavailable(method, path, reason, e, connected);
        } finally {
            deadline.cancel();
        }
    }

    private UnavailableException unavailable(String method, String path, String reason, Throwable cause,
                                             boolean connected) {
        return new UnavailableException("agent at " + socket + " did not answer " + method + " " + path + ": "
                + reason, cause, connected);
    }

    private static String message(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // The call fails on the closed channel either way.
        }
    }
}
