package io.vesicle.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.TestNetwork;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * CNI ADD end to end: bin/vesicle-cni exec'd as libcni execs it (the test harness's CniRuntime,
 * in a node namespace, against bin/vesicle agent running for it), timed from exec to exit, JVM
 * start included: N sequential ADDs, then N ADDs with P in flight; each set DELed afterwards
 * (DEL timed too). Then the agent's own share: PUT /v1/endpoints timed at the client
 * (AgentClient, one unix-socket HTTP call each), sequential and with P in flight. A baseline in the same run:
 * bin/vesicle-cni VERSION, i.e. the plugin's JVM starting and doing nothing.
 * Not a test: it prints figures and the goals beside them.
 * <p>
 * Properties: bench.adds (100), bench.parallel (8), bench.warmup (5).
 */
public final class CniAddBenchmark {
    static final int ADDS = Integer.getInteger("bench.adds", 100);
    static final int PARALLEL = Integer.getInteger("bench.parallel", 8);
    static final int WARMUP = Integer.getInteger("bench.warmup", 5);

    private CniAddBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        TestNetwork network = new TestNetwork();
        Thread cleanup = new Thread(network::close, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            run(network);
        } finally {
            Runtime.getRuntime().removeShutdownHook(cleanup);
            network.close();
        }
    }

    static void run(TestNetwork network) throws Exception {
        System.out.printf("CNI ADD benchmark: %d cores, %d ADDs per set, %d in parallel, %d warm-up cycles%n",
                Runtime.getRuntime().availableProcessors(), ADDS, PARALLEL, WARMUP);
        CniNode node = CniNode.start(network, "node");
        try {
            CniRuntime runtime = node.runtime();
            JsonNode list = node.list();
            List<CniNode.Pod> pods = new ArrayList<>();
            for (int i = 0; i < ADDS; i++) {
                pods.add(node.pod("p" + i));
            }

            List<Double> version = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                version.add(runtime.exec("vesicle", Map.of("CNI_COMMAND", "VERSION"),
                        "{\"cniVersion\":\"1.1.0\"}".getBytes(), null).millis());
            }
            for (int i = 0; i < WARMUP; i++) {
                runtime.add(list, pods.get(i).eth0());
                runtime.del(list, pods.get(i).eth0());
            }

            Timings sequential = new Timings();
            runtime.observe(sequential);
            long t0 = System.nanoTime();
            for (CniNode.Pod pod : pods) {
                runtime.add(list, pod.eth0());
            }
            double sequentialSeconds = (System.nanoTime() - t0) / 1e9;
            for (CniNode.Pod pod : pods) {
                runtime.del(list, pod.eth0());
            }

            Timings parallel = new Timings();
            runtime.observe(parallel);
            long t1 = System.nanoTime();
            inParallel(pods, pod -> runtime.add(list, pod.eth0()));
            double parallelSeconds = (System.nanoTime() - t1) / 1e9;
            inParallel(pods, pod -> runtime.del(list, pod.eth0()));
            runtime.observe(exec -> { });

            // The agent's share: the API call the plugin makes, without the plugin.
            AgentClient client = node.agent().client();
            List<Double> create = new ArrayList<>();
            List<Double> delete = new ArrayList<>();
            for (int i = 0; i < WARMUP; i++) {
                client.createEndpoint(request(pods.get(i)));
                client.deleteEndpoint(pods.get(i).containerID(), "eth0");
            }
            for (CniNode.Pod pod : pods) {
                long start = System.nanoTime();
                client.createEndpoint(request(pod));
                create.add((System.nanoTime() - start) / 1e6);
            }
            for (CniNode.Pod pod : pods) {
                long start = System.nanoTime();
                client.deleteEndpoint(pod.containerID(), "eth0");
                delete.add((System.nanoTime() - start) / 1e6);
            }
            // The same with P in flight: what the agent adds by serializing or contending.
            List<Double> createParallel = Collections.synchronizedList(new ArrayList<>());
            inParallel(pods, pod -> {
                long start = System.nanoTime();
                client.createEndpoint(request(pod));
                createParallel.add((System.nanoTime() - start) / 1e6);
            });
            inParallel(pods, pod -> client.deleteEndpoint(pod.containerID(), "eth0"));

            System.out.println();
            System.out.printf("%-58s %8s %8s %8s   %s%n", "ms", "p50", "p99", "max", "goal");
            row("bin/vesicle-cni VERSION (JVM start, baseline), 20", version, "");
            row("CNI ADD exec to exit, " + ADDS + " sequential", sequential.of("ADD"), "p50 <= 100, p99 <= 200");
            row("CNI ADD exec to exit, " + ADDS + " with " + PARALLEL + " in parallel", parallel.of("ADD"),
                    "p50 <= 100, p99 <= 200");
            row("CNI DEL exec to exit, " + ADDS + " sequential", sequential.of("DEL"), "");
            row("CNI DEL exec to exit, " + ADDS + " with " + PARALLEL + " in parallel", parallel.of("DEL"), "");
            row("agent: PUT /v1/endpoints (create), " + ADDS + " sequential", create, "p50 <= 10");
            row("agent: PUT /v1/endpoints (create), " + ADDS + " with " + PARALLEL + " in parallel", createParallel,
                    "");
            row("agent: DELETE /v1/endpoints/{id}/eth0, " + ADDS + " sequential", delete, "");
            System.out.printf("throughput: %d ADDs in %.1f s sequential (%.0f/s), in %.1f s with %d in parallel"
                    + " (%.0f/s); load average now %s%n", ADDS, sequentialSeconds, ADDS / sequentialSeconds,
                    parallelSeconds, PARALLEL, ADDS / parallelSeconds, loadAverage());
            System.out.println("(exec to exit includes nsenter into the node namespace, ~1 ms; the agent's times are"
                    + " one HTTP call over its unix socket each, as the plugin makes it)");
        } finally {
            node.agent().close();
        }
    }

    static String loadAverage() {
        try {
            String[] parts = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    static Messages.CreateEndpoint request(CniNode.Pod pod) {
        return new Messages.CreateEndpoint(pod.containerID(), "eth0", pod.netnsPath(), "default", pod.name(), null, null);
    }

    static void inParallel(List<CniNode.Pod> pods, Consumer<CniNode.Pod> action) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        try {
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < PARALLEL; w++) {
                workers.add(pool.submit(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < pods.size()) {
                        action.accept(pods.get(i));
                    }
                    return null;
                }));
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Exec times by CNI command. */
    static final class Timings implements Consumer<CniRuntime.Exec> {
        private final List<CniRuntime.Exec> execs = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void accept(CniRuntime.Exec exec) {
            if (!exec.ok()) {
                throw new IllegalStateException("a plugin exec failed during the benchmark: " + exec);
            }
            execs.add(exec);
        }

        List<Double> of(String command) {
            synchronized (execs) {
                return execs.stream().filter(e -> e.command().equals(command)).map(CniRuntime.Exec::millis).toList();
            }
        }
    }

    static void row(String what, List<Double> millis, String goal) {
        List<Double> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        System.out.printf("%-58s %8.1f %8.1f %8.1f   %s%n", what, percentile(sorted, 50), percentile(sorted, 99),
                sorted.get(sorted.size() - 1), goal);
    }

    /** Nearest rank. */
    static double percentile(List<Double> sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }
}
