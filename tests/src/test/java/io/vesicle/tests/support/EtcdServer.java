package io.vesicle.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One etcd-server (Debian's /usr/bin/etcd) for a topology: a single member run inside a namespace
 * of the network (the underlay's), serving the nodes on {@code http://ADDRESS:2379} and the test
 * on a unix socket in its directory (the test JVM is not in that namespace). Its data lives in
 * memory (a directory of the network under /dev/shm: no fsync waits behind a busy disk); it can
 * be stopped and started again on the same data, as an etcd outage.
 */
public final class EtcdServer implements AutoCloseable {
    public static final int CLIENT_PORT = 2379;
    private static final Duration READY_WITHIN = Duration.ofSeconds(30);

    private final TestNetwork network;
    private final String netns;
    private final String address;
    private final Path dir;
    private final EtcdClient client;
    private Process process;

    private EtcdServer(TestNetwork network, String netns, String address) {
        this.network = network;
        this.netns = netns;
        this.address = address;
        this.dir = network.memoryDir("etcd");
        // etcd names its unix listener HOST:PORT in its working directory.
        this.client = new EtcdClient(dir.resolve("etcd:" + CLIENT_PORT));
    }

    /** Starts etcd in netns listening on address (an address of that namespace); healthy on return. */
    public static EtcdServer start(TestNetwork network, String netns, String address) {
        EtcdServer server = new EtcdServer(network, netns, address);
        server.start();
        return server;
    }

    /** The URL the nodes use (the agents' etcdEndpoints). */
    public String endpoint() {
        return "http://" + address + ":" + CLIENT_PORT;
    }

    public EtcdClient client() {
        return client;
    }

    /** Starts (again, on the same data) and waits until it answers healthy. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("etcd already running, pid " + process.pid());
        }
        List<String> command = Shell.inNetns(netns, "etcd", "--name", "vt",
                "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", endpoint() + ",unix://etcd:" + CLIENT_PORT,
                "--advertise-client-urls", endpoint(),
                // Peers on the namespace's loopback: a single member talks to nobody.
                "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", "vt=http://127.0.0.1:2380", "--log-level", "warn");
        try {
            process = network.own(new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("etcd.log").toFile())).start());
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start etcd: " + e.getMessage(), e);
        }
        Process started = process;
        Poll.until("etcd healthy on " + endpoint(), READY_WITHIN, () -> {
            if (!started.isAlive()) {
                throw new IllegalStateException("etcd exited " + started.exitValue() + "; log:\n" + log());
            }
            return client.healthy();
        });
    }

    /** SIGTERM, as an etcd outage; waits until it is gone. */
    public synchronized void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                Shell.killTree(process.toHandle());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        network.release(process);
    }

    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    /** etcd's output so far. */
    public String log() {
        try {
            return Files.readString(dir.resolve("etcd.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public synchronized void close() {
        if (process != null && process.isAlive()) {
            Shell.killTree(process.toHandle());
        }
    }
}
