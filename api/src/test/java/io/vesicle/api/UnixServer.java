package io.vesicle.api;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A unix socket server for the client's tests: each connection is handed to the handler on the
 * server's thread, and the connection is closed afterwards. Requests the handler read are kept.
 * Closing removes the socket file, so the next server can bind the same path.
 */
final class UnixServer implements AutoCloseable {
    @FunctionalInterface
    interface Handler {
        void handle(SocketChannel connection, UnixServer server) throws IOException;
    }

    private final Path socket;
    private final ServerSocketChannel channel;
    private final Thread thread;
    final List<Http.Request> requests = new CopyOnWriteArrayList<>();

    UnixServer(Path socket, Handler handler) throws IOException {
        this.socket = socket;
        channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        channel.bind(UnixDomainSocketAddress.of(socket));
        thread = new Thread(() -> {
            while (channel.isOpen()) {
                try (SocketChannel connection = channel.accept()) {
                    handler.handle(connection, this);
                } catch (IOException e) {
                    // The client went away, or close(): either way the next accept decides.
                }
            }
        }, "unix-server");
        thread.setDaemon(true);
        thread.start();
    }

    /** Answers every request with status and body, after reading it. */
    static UnixServer answering(Path socket, int status, String body) throws IOException {
        return new UnixServer(socket, (connection, server) -> {
            server.requests.add(Http.readRequest(java.nio.channels.Channels.newInputStream(connection)));
            Http.writeResponse(java.nio.channels.Channels.newOutputStream(connection), status,
                    body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        });
    }

    @Override
    public void close() throws IOException {
        channel.close();
        thread.interrupt();
        java.nio.file.Files.deleteIfExists(socket);
    }
}
