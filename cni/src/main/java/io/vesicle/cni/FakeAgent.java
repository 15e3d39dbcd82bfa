package io.vesicle.cni;

import io.vesicle.api.Http;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A stand-in for the agent's API on a unix socket, answering each request with a handler: the
 * AppCDS training run and the tests drive the real client through it, with no privileged work.
 */
final class FakeAgent implements AutoCloseable {
    private final Path socket;
    private final ServerSocketChannel server;
    private final Function<Http.Request, Http.Response> handler;
    private final List<Http.Request> requests = new ArrayList<>();
    private final Thread acceptor;

    FakeAgent(Path socket, Function<Http.Request, Http.Response> handler) throws IOException {
        this.socket = socket;
        this.handler = handler;
        Files.deleteIfExists(socket);
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        this.acceptor = new Thread(this::serve, "fake-agent");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    Path socket() {
        return socket;
    }

    /** The requests served so far, in order. */
    List<Http.Request> requests() {
        synchronized (requests) {
            return new ArrayList<>(requests);
        }
    }

    private void serve() {
        while (server.isOpen()) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread worker = new Thread(() -> answer(channel), "fake-agent-call");
            worker.setDaemon(true);
            worker.start();
        }
    }

    private void answer(SocketChannel channel) {
        try (channel) {
            Http.Request request = Http.readRequest(new BufferedInputStream(Channels.newInputStream(channel)));
            synchronized (requests) {
                requests.add(request);
            }
            Http.Response response = handler.apply(request);
            if (response != null) {
                Http.writeResponse(Channels.newOutputStream(channel), response.status(), response.body());
            }
        } catch (IOException | RuntimeException e) {
            // The client sees the connection close.
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }
}
