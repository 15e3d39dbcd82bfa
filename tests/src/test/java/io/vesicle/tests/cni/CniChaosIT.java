package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.CniRuntime.PluginException;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ADD/DEL cycles (500 by default; -Dvesicle.chaos.cycles=N) by a few runtime workers at once, in
 * which the plugin is killed with SIGKILL at random points of ADD and of DEL, and the agent is
 * killed with SIGKILL at random times and started again. Each cycle ends as a runtime ends a pod:
 * after a failed or killed ADD it DELs, and it repeats a DEL until it succeeds. Afterwards, with
 * the DELs and a GC done, the node holds nothing: no IP, veth, map entry, pin beyond the maps, or
 * state file, each counted.
 */
class CniChaosIT extends CniNodeFixture {
    static final int CYCLES = Integer.getInteger("vesicle.chaos.cycles", 500);
    static final int WORKERS = Integer.getInteger("vesicle.chaos.workers", 4);
    static final int PODS_PER_WORKER = 3;
    /**
     * Share of plugin execs killed; the kill falls at a random point between the exec and 1.5
     * times the median exec time measured in warm-up cycles (so most land inside the exec).
     */
    static final double KILL_PLUGIN = 0.3;
    static final int WARMUP_CYCLES = 6;
    /** The agent is killed every 1.5 to 5 s (the first time within 2 s). */
    static final int AGENT_KILL_MIN_MS = 1500;
    static final int AGENT_KILL_MAX_MS = 5000;
    int killWindowMs;

    ExecutorService pool;
    final AtomicBoolean done = new AtomicBoolean();

    @BeforeEach
    void setUp() {
        pool = Executors.newFixedThreadPool(WORKERS + 1);
    }

    @AfterEach
    void tearDown() {
        done.set(true);
        pool.shutdownNow();
    }

    /** What happened, for the printout. */
    static final class Tally {
        final LongAdder addOk = new LongAdder();
        final LongAdder addKilled = new LongAdder();
        final LongAdder delOk = new LongAdder();
        final LongAdder delKilled = new LongAdder();
        final LongAdder delRetries = new LongAdder();
        final LongAdder dirtyNamespaces = new LongAdder();
        final AtomicInteger agentKills = new AtomicInteger();
        final Map<Integer, LongAdder> addErrors = new ConcurrentHashMap<>();
        final Map<Integer, LongAdder> delErrors = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        /** One example per kind of failure (command and code), as the plugin printed it. */
        final Map<String, String> samples = new ConcurrentHashMap<>();

        void error(Map<Integer, LongAdder> errors, PluginException e) {
            errors.computeIfAbsent(e.code(), c -> new LongAdder()).increment();
            samples.putIfAbsent(e.exec().command() + " " + e.code(), e.exec().stdout().strip());
        }

        static String codes(Map<Integer, LongAdder> errors) {
            Map<Integer, Long> sorted = new TreeMap<>();
            errors.forEach((k, v) -> sorted.put(k, v.sum()));
            return sorted.toString();
        }
    }

    @Test
    void addDelCyclesWithKilledPluginsAndAgentLeakNothing() throws Exception {
        Tally tally = new Tally();
        AtomicInteger next = new AtomicInteger();
        List<String> podNetns = new ArrayList<>();
        List<List<CniNode.Pod>> pools = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            List<CniNode.Pod> pods = new ArrayList<>();
            for (int p = 0; p < PODS_PER_WORKER; p++) {
                CniNode.Pod pod = node.pod("w" + w + "p" + p);
                pods.add(pod);
                podNetns.add(pod.netns());
            }
            pools.add(pods);
        }

        // Warm-up: how long a plugin exec takes here, to place the kills inside it.
        List<Double> millis = new java.util.concurrent.CopyOnWriteArrayList<>();
        runtime.observe(exec -> millis.add(exec.millis()));
        for (int i = 0; i < WARMUP_CYCLES; i++) {
            CniNode.Pod pod = new CniNode.Pod("warmup" + i, pools.get(0).get(0).netns(), CniNode.containerId());
            runtime.add(list, pod.eth0());
            runtime.del(list, pod.eth0());
        }
        runtime.observe(exec -> { });
        List<Double> sorted = millis.stream().sorted().toList();
        killWindowMs = (int) Math.max(20, 1.5 * sorted.get(sorted.size() / 2));
        System.out.printf("plugin exec median %.0f ms in warm-up: kills fall within %d ms of the exec%n",
                sorted.get(sorted.size() / 2), killWindowMs);

        long start = System.nanoTime();
        Future<?> chaos = pool.submit(() -> killAgentAtRandom(tally));
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            List<CniNode.Pod> pods = pools.get(w);
            workers.add(pool.submit(() -> {
                int cycle;
                int round = 0;
                while ((cycle = next.getAndIncrement()) < CYCLES) {
                    CniNode.Pod netns = pods.get(round++ % pods.size());
                    cycle(runtime, list, new CniNode.Pod("chaos" + cycle, netns.netns(), CniNode.containerId()),
                            cycle, tally);
                }
                return null;
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        done.set(true);
        chaos.get();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!node.agent().running()) {
            node.agent().start();
        }
        node.agent().awaitHealthy(Duration.ofSeconds(60));

        NodeCensus beforeGc = NodeCensus.take(node.agent(), podNetns, null);
        runtime.gc(list, List.of());
        NodeCensus afterGc = NodeCensus.take(node.agent(), podNetns, null);

        System.out.printf("chaos: %d cycles by %d workers in %.0f s (%.0f ms per cycle)%n", CYCLES, WORKERS, seconds,
                seconds * 1000 / CYCLES);
        System.out.printf("  ADD: %d ok, %d killed, errors by code %s%n", tally.addOk.sum(), tally.addKilled.sum(),
                Tally.codes(tally.addErrors));
        System.out.printf("  DEL: %d ok, %d killed, %d retries, errors by code %s%n", tally.delOk.sum(),
                tally.delKilled.sum(), tally.delRetries.sum(), Tally.codes(tally.delErrors));
        System.out.printf("  agent killed with SIGKILL and restarted %d times%n", tally.agentKills.get());
        System.out.printf("  pod namespaces found holding a previous container's interface: %d%n",
                tally.dirtyNamespaces.sum());
        new TreeMap<>(tally.samples).forEach((kind, s) -> System.out.println("  e.g. " + kind + ": " + s));
        System.out.println("leaks after the DELs, before GC:\n" + beforeGc);
        System.out.println("leaks after GC:\n" + afterGc);
        tally.problems.forEach(p -> System.out.println("  PROBLEM: " + p));

        assertTrue(tally.problems.isEmpty(), tally.problems.size() + " problems, first: " + tally.problems.peek());
        assertTrue(afterGc.empty(), "leaked after the DELs and GC:\n" + afterGc);
        assertTrue(tally.agentKills.get() > 0 || CYCLES < 100, "the agent was killed at least once");
        assertTrue(tally.addKilled.sum() + tally.delKilled.sum() > 0 || CYCLES < 100, "plugins were killed");
    }

    /** One pod's life: its namespace must be empty, ADD (perhaps killed), then DEL until it succeeds. */
    void cycle(CniRuntime runtime, JsonNode list, CniNode.Pod pod, int cycle, Tally tally) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        String links = Shell.check("ip", "-n", pod.netns(), "-o", "link", "show");
        if (links.lines().filter(l -> !l.isBlank()).count() != 1) {
            // A previous container's interface outlived its DEL (GC must remove it): counted, printed.
            tally.dirtyNamespaces.increment();
            tally.samples.putIfAbsent("dirty namespace", "cycle " + cycle + ": " + links.strip());
        }
        CniRuntime.Attachment eth0 = pod.eth0();
        Duration killAdd = random.nextDouble() < KILL_PLUGIN ? Duration.ofMillis(random.nextInt(killWindowMs)) : null;
        try {
            JsonNode result = runtime.add(list, eth0, killAdd);
            tally.addOk.increment();
            String address = CniNode.address(result);
            String addr = Shell.check("ip", "-n", pod.netns(), "-o", "-4", "addr", "show", "dev", "eth0");
            if (!addr.contains(" " + address + "/")) {
                tally.problems.add("cycle " + cycle + ": ADD succeeded with " + address + " but eth0 has " + addr);
            }
        } catch (PluginException e) {
            if (e.exec().killed()) {
                tally.addKilled.increment();
            } else {
                tally.error(tally.addErrors, e);
            }
        }
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            Duration killDel = random.nextDouble() < KILL_PLUGIN / 2
                    ? Duration.ofMillis(random.nextInt(killWindowMs)) : null;
            try {
                runtime.del(list, eth0, killDel);
                tally.delOk.increment();
                return;
            } catch (PluginException e) {
                if (e.exec().killed()) {
                    tally.delKilled.increment();
                } else {
                    tally.error(tally.delErrors, e);
                    if (e.code() != 11) {
                        tally.problems.add("cycle " + cycle + ": DEL failed other than 'try again later': "
                                + e.getMessage());
                    }
                }
                if (System.nanoTime() > deadline) {
                    tally.problems.add("cycle " + cycle + ": DEL did not succeed within 2 minutes: " + e.getMessage());
                    return;
                }
                tally.delRetries.increment();
                sleep(100 + random.nextInt(200));
            }
        }
    }

    /** Until the workers are done: wait 1.5-5 s, SIGKILL the agent, wait 0-0.5 s, start it again. */
    Object killAgentAtRandom(Tally tally) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        boolean first = true;
        while (!done.get()) {
            long wait = first ? 500 + random.nextInt(1500)
                    : AGENT_KILL_MIN_MS + random.nextInt(AGENT_KILL_MAX_MS - AGENT_KILL_MIN_MS);
            first = false;
            for (long slept = 0; slept < wait && !done.get(); slept += 50) {
                sleep(50);
            }
            if (done.get()) {
                break;
            }
            node.agent().kill();
            tally.agentKills.incrementAndGet();
            sleep(random.nextInt(500));
            node.agent().start();
        }
        return null;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
