package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Debian's Prometheus server in a namespace of a test network, on that namespace's loopback, with
 * its config and data in a temporary directory of the network, scraping one target at a short
 * interval. Queries go through its HTTP API (curl in the same namespace: the test JVM's own
 * namespace is not the node's). {@link #close()} stops it by its pid.
 */
public final class Prometheus implements AutoCloseable {
    /** Prometheus's own port, on the namespace's loopback. */
    public static final int PORT = 9090;
    private static final Duration POLL_INTERVAL = Duration.ofMillis(250);

    private final TestNetwork network;
    private final String netns;
    private final Path dir;
    private final Process process;

    private Prometheus(TestNetwork network, String netns, Path dir, Process process) {
        this.network = network;
        this.netns = netns;
        this.dir = dir;
        this.process = process;
    }

    /** Starts Prometheus in netns scraping target (host:port) every scrapeInterval; ready on return. */
    public static Prometheus start(TestNetwork network, String netns, String target, Duration scrapeInterval) {
        Path dir = network.tempDir("prometheus");
        String seconds = scrapeInterval.toMillis() + "ms";
        String config = String.join("\n",
                "global:",
                "  scrape_interval: " + seconds,
                "  scrape_timeout: " + seconds,
                "scrape_configs:",
                "  - job_name: vesicle",
                "    static_configs:",
                "      - targets: ['" + target + "']",
                "");
        Process process;
        try {
            Files.writeString(dir.resolve("prometheus.yml"), config);
            List<String> command = Shell.inNetns(netns, "prometheus",
                    "--config.file=" + dir.resolve("prometheus.yml"),
                    "--storage.tsdb.path=" + dir.resolve("data"),
                    "--web.listen-address=127.0.0.1:" + PORT,
                    "--log.level=warn");
            process = network.own(new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("prometheus.log").toFile()).start());
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start prometheus: " + e.getMessage(), e);
        }
        Prometheus prometheus = new Prometheus(network, netns, dir, process);
        prometheus.await(() -> "Prometheus ready", Duration.ofSeconds(60), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("prometheus exited: " + prometheus.log());
            }
            return prometheus.curl(url("/-/ready")).ok();
        });
        return prometheus;
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + PORT + path;
    }

    private Shell.Result curl(String... args) {
        List<String> command = new java.util.ArrayList<>(Shell.inNetns(netns, "curl", "-sS", "-f", "--max-time", "10"));
        command.addAll(List.of(args));
        return Shell.run(30, command);
    }

    /** The instant query's result vector (or matrix) through /api/v1/query; fails on an error answer. */
    public JsonNode query(String expr) {
        Shell.Result r = curl("-G", "--data-urlencode", "query=" + expr, url("/api/v1/query"));
        if (!r.ok()) {
            throw new IllegalStateException("query " + expr + " failed: " + r.stderr() + r.stdout());
        }
        try {
            JsonNode answer = CniRuntime.JSON.readTree(r.stdout());
            if (!"success".equals(answer.path("status").asText())) {
                throw new IllegalStateException("query " + expr + ": " + r.stdout());
            }
            return answer.path("data").path("result");
        } catch (IOException e) {
            throw new IllegalStateException("query " + expr + " answered no JSON: " + r.stdout(), e);
        }
    }

    /** The value of a query that returns one series, or NaN when it returns none. */
    public double value(String expr) {
        JsonNode result = query(expr);
        if (result.size() == 0) {
            return Double.NaN;
        }
        if (result.size() > 1) {
            throw new IllegalStateException("query " + expr + " returned " + result.size() + " series: " + result);
        }
        return Double.parseDouble(result.get(0).path("value").get(1).asText());
    }

    /** Polls expr until its value satisfies want; returns the value, or fails naming the last one. */
    public double awaitValue(String expr, Predicate<Double> want, Duration within) {
        double[] last = {Double.NaN};
        await(() -> expr + " (last value " + last[0] + ")", within, () -> want.test(last[0] = value(expr)));
        return last[0];
    }

    /** Polls expr until it returns at least one series; returns them. */
    public JsonNode awaitSeries(String expr, Duration within) {
        JsonNode[] last = {null};
        await(() -> "a series of " + expr, within, () -> (last[0] = query(expr)).size() > 0);
        return last[0];
    }

    private void await(Supplier<String> what, Duration within, BooleanSupplier condition) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what.get() + ": not within " + within);
            }
            try {
                Thread.sleep(POLL_INTERVAL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** GET url from the namespace (e.g. the agent's /metrics), as Prometheus would. */
    public Shell.Result get(String url) {
        return curl(url);
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("prometheus.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGTERM by pid, SIGKILL if it does not stop within 10 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                Shell.killTree(process.toHandle());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Shell.killTree(process.toHandle());
        }
        network.release(process);
    }
}
