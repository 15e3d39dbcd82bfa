package io.vesicle.cluster.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debian's etcd 3.4 (/usr/bin/etcd) on 127.0.0.1, free ports, its data in a temp directory;
 * stopped by its pid and restartable on the same data and ports.
 */
final class EtcdProcess implements AutoCloseable {
    private static final Path ETCD = Path.of("/usr/bin/etcd");
    private static final Duration START_DEADLINE = Duration.ofSeconds(20);

    private final Path dir;
    private final int clientPort;
    private final int peerPort;
    private volatile Process process;

    private EtcdProcess(Path dir, int clientPort, int peerPort) {
        this.dir = dir;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        // A test JVM ended abruptly (timeout, ^C) still ends its etcd.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Process running = process;
            if (running != null) {
                running.destroyForcibly();
            }
        }, "etcd-test-reaper"));
    }

    static EtcdProcess start() throws IOException, InterruptedException {
        if (!Files.isExecutable(ETCD)) {
            throw new IllegalStateException(ETCD + " is missing: apt-get install etcd-server (make deps)");
        }
        Path dir = Files.createTempDirectory("vesicle-etcd-test-");
        int[] ports = freePorts();
        EtcdProcess etcd = new EtcdProcess(dir, ports[0], ports[1]);
        try {
            etcd.run();
        } catch (RuntimeException | IOException | InterruptedException e) {
            etcd.close();
            throw e;
        }
        return etcd;
    }

    int clientPort() {
        return clientPort;
    }

    String endpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    /** Starts it again on the same data directory and ports. */
    void restart() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("etcd is running");
        }
        run();
    }

    private void run() throws IOException, InterruptedException {
        String peer = "http://127.0.0.1:" + peerPort;
        List<String> command = List.of(ETCD.toString(),
                "--name", "vesicle-test",
                "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", endpoint(),
                "--advertise-client-urls", endpoint(),
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "vesicle-test=" + peer,
                "--logger", "zap", "--log-level", "warn");
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("etcd.log").toFile()))
                .start();
        awaitHealthy();
    }

    private void awaitHealthy() throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                .timeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited with " + process.exitValue() + ": see " + dir.resolve("etcd.log"));
            }
            try {
                HttpResponse<String> answer = http.send(health, HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200 && answer.body().contains("true")) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("etcd not healthy within " + START_DEADLINE + ": see " + dir.resolve("etcd.log"));
    }

    /** Ends etcd (SIGTERM, then SIGKILL) by its pid; the data stays for {@link #restart}. */
    void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws InterruptedException {
        try {
            stop();
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static int[] freePorts() throws IOException {
        try (ServerSocket client = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             ServerSocket peer = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return new int[] {client.getLocalPort(), peer.getLocalPort()};
        }
    }
}
