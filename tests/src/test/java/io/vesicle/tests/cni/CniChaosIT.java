package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.CniRuntime.PluginException;
import io.vesicle.tests.support.KernelView;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ADD/DEL cycles (500 by default; -Dvesicle.chaos.cycles=N) by a few runtime workers at once, in
 * which the plugin is killed with SIGKILL at random points of ADD and of DEL, and the agent is
 * killed with SIGKILL at random times and started again, while one long-lived pod per worker stays
 * attached throughout. Each cycle ends as a runtime ends a pod: it DELs until the DEL succeeds;
 * except that now and then the runtime "loses" a killed ADD and never DELs it.
 *
 * <p>Asserted: every ADD succeeds, answers 11 (try again later) or is killed, every DEL succeeds
 * in the end after 11s or kills; no pod namespace holds a link once its container's DEL
 * succeeded. After the last DEL and before any GC, the node holds exactly the long-lived pods,
 * wired as the agent says (veths, map entries by content, state, IPAM, pins), plus at most the
 * attachments of the lost ADDs. GC with the runtime's real valid list (the long-lived pods) then
 * removes exactly those, and the long-lived pods still have their addresses and reach each other.
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
    /** Share of killed ADDs the runtime loses (never DELs), up to MAX_LOST. */
    static final double LOSE_KILLED_ADD = 0.25;
    static final int MAX_LOST = 12;
    static final int WARMUP_CYCLES = 6;
    /** The agent is killed every 1.5 to 5 s (the first time within 2 s). */
    static final int AGENT_KILL_MIN_MS = 1500;
    static final int AGENT_KILL_MAX_MS = 5000;
    static final int TRY_AGAIN_LATER = 11;
    /** How long a runtime keeps retrying one DEL. */
    static final Duration DEL_RETRIES = Duration.ofMinutes(2);
    int killWindowMs;

    ExecutorService pool;
    final AtomicBoolean done = new AtomicBoolean();

    @BeforeEach
    void setUp() {
        pool = Executors.newFixedThreadPool(WORKERS + 1);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        done.set(true);
        pool.shutdownNow();
        pool.awaitTermination(1, TimeUnit.MINUTES);
    }

    /** What happened: counted for the printout, and every unexpected outcome as a problem. */
    static final class Tally {
        final LongAdder addOk = new LongAdder();
        final LongAdder addKilled = new LongAdder();
        final LongAdder addTryAgain = new LongAdder();
        final LongAdder delOk = new LongAdder();
        final LongAdder delKilled = new LongAdder();
        final LongAdder delTryAgain = new LongAdder();
        final AtomicInteger agentKills = new AtomicInteger();
        /** Pods whose ADD was killed and never DELeted, as a runtime that lost track of them. */
        final ConcurrentLinkedQueue<CniNode.Pod> lost = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        /** One example per kind of failure (command and code), as the plugin printed it. */
        final Map<String, String> samples = new ConcurrentHashMap<>();

        void sample(PluginException e) {
            samples.putIfAbsent(e.exec().command() + " " + e.code(), e.exec().stdout().strip());
        }

        boolean loseOne() {
            synchronized (lost) {
                return lost.size() < MAX_LOST && ThreadLocalRandom.current().nextDouble() < LOSE_KILLED_ADD;
            }
        }
    }

    @Test
    @Timeout(value = 40, unit = TimeUnit.MINUTES)
    void addDelCyclesWithKilledPluginsAndAgentLeakNothing() throws Exception {
        Tally tally = new Tally();
        AtomicInteger next = new AtomicInteger();
        List<String> podNetns = new CopyOnWriteArrayList<>();
        List<List<CniNode.Pod>> pools = new ArrayList<>();
        List<CniNode.Pod> longLived = new ArrayList<>();
        Map<String, String> longLivedAddresses = new TreeMap<>();
        for (int w = 0; w < WORKERS; w++) {
            CniNode.Pod pod = node.pod("alive" + w);
            longLived.add(pod);
            podNetns.add(pod.netns());
            longLivedAddresses.put(pod.containerID(), CniNode.address(runtime.add(list, pod.eth0())));
            List<CniNode.Pod> pods = new ArrayList<>();
            for (int p = 0; p < PODS_PER_WORKER; p++) {
                CniNode.Pod slot = node.pod("w" + w + "p" + p);
                pods.add(slot);
                podNetns.add(slot.netns());
            }
            pools.add(pods);
        }
        warmUp(pools.get(0).get(0));

        long start = System.nanoTime();
        Future<?> chaos = pool.submit(() -> killAgentAtRandom(tally));
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            List<CniNode.Pod> slots = pools.get(w);
            int worker = w;
            workers.add(pool.submit(() -> {
                int cycle;
                int round = 0;
                while ((cycle = next.getAndIncrement()) < CYCLES) {
                    int slot = round++ % slots.size();
                    CniNode.Pod pod = new CniNode.Pod("chaos" + cycle, slots.get(slot).netns(), CniNode.containerId());
                    if (cycle(pod, cycle, tally)) {
                        // Its namespace keeps the lost attachment: the worker goes on in a fresh one.
                        CniNode.Pod fresh = node.pod("w" + worker + "c" + cycle);
                        podNetns.add(fresh.netns());
                        slots.set(slot, fresh);
                    }
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

        Set<String> aliveIds = new TreeSet<>(longLivedAddresses.keySet());
        Set<String> lostIds = new TreeSet<>();
        Set<String> lostNetns = new TreeSet<>();
        tally.lost.forEach(p -> {
            lostIds.add(p.containerID());
            lostNetns.add(p.netns());
        });
        NodeCensus beforeGc = NodeCensus.take(node.agent(), podNetns, null);
        List<CniRuntime.Attachment> valid = longLived.stream().map(CniNode.Pod::eth0).toList();
        runtime.gc(list, valid);
        NodeCensus afterGc = NodeCensus.take(node.agent(), podNetns, null);

        System.out.printf("chaos: %d cycles by %d workers in %.0f s (%.0f ms per cycle)%n", CYCLES, WORKERS, seconds,
                seconds * 1000 / CYCLES);
        System.out.printf("  ADD: %d ok, %d killed (%d of them never DELeted), %d try again later%n",
                tally.addOk.sum(), tally.addKilled.sum(), lostIds.size(), tally.addTryAgain.sum());
        System.out.printf("  DEL: %d ok, %d killed, %d try again later%n", tally.delOk.sum(), tally.delKilled.sum(),
                tally.delTryAgain.sum());
        System.out.printf("  agent killed with SIGKILL and restarted %d times%n", tally.agentKills.get());
        new TreeMap<>(tally.samples).forEach((kind, s) -> System.out.println("  e.g. " + kind + ": " + s));
        System.out.println("after the DELs, before GC:\n" + beforeGc);
        System.out.println("after GC with the " + valid.size() + " long-lived attachments valid:\n" + afterGc);
        tally.problems.forEach(p -> System.out.println("  PROBLEM: " + p));

        assertTrue(tally.problems.isEmpty(), tally.problems.size() + " problems, first: " + tally.problems.peek());
        assertEquals(CYCLES, tally.delOk.sum() + lostIds.size(), "every cycle DELeted or lost");

        // Before GC: the long-lived pods, wired as the agent says, and at most the lost ADDs' attachments.
        assertEquals(List.of(), beforeGc.mismatches(), "before GC the node is as the agent says:\n" + beforeGc);
        assertTrue(beforeGc.containerIDs().containsAll(aliveIds), "the long-lived pods are still there:\n"
                + beforeGc);
        Set<String> extra = new TreeSet<>(beforeGc.containerIDs());
        extra.removeAll(aliveIds);
        assertTrue(lostIds.containsAll(extra), "endpoints other than the long-lived pods and the lost ADDs: "
                + extra + " (lost: " + lostIds + ")\n" + beforeGc);
        Set<String> linkedNetns = new TreeSet<>(beforeGc.podLinks().keySet());
        longLived.forEach(p -> linkedNetns.remove(p.netns()));
        linkedNetns.removeAll(lostNetns);
        assertEquals(Set.of(), linkedNetns, "pod namespaces with links after their DELs:\n" + beforeGc);
        assertEquals(beforeGc.apiEndpoints().size() - aliveIds.size(), lostNetns.stream()
                .filter(beforeGc.podLinks()::containsKey).count(), "a lost ADD's pod holds eth0 iff it is an endpoint");

        // GC with the real valid list removes exactly the lost attachments.
        assertTrue(afterGc.holds(WORKERS), "after GC only the long-lived pods:\n" + afterGc);
        assertEquals(aliveIds, afterGc.containerIDs(), afterGc.toString());
        Set<String> linkedAfter = new TreeSet<>(afterGc.podLinks().keySet());
        longLived.forEach(p -> assertTrue(linkedAfter.remove(p.netns()), "the long-lived " + p.netns()
                + " keeps eth0"));
        assertEquals(Set.of(), linkedAfter, "pod namespaces with links after GC");
        for (CniNode.Pod pod : longLived) {
            runtime.check(list, pod.eth0());
            String address = longLivedAddresses.get(pod.containerID());
            assertTrue(Shell.hasAddress(pod.netns(), "eth0", address), pod.netns() + " keeps " + address);
        }
        for (int w = 1; w < WORKERS; w++) {
            String to = longLivedAddresses.get(longLived.get(w).containerID());
            assertTrue(Shell.awaitPing(longLived.get(0).netns(), to, Duration.ofSeconds(10)),
                    "long-lived pod 0 reaches " + to);
        }
        for (CniNode.Pod pod : longLived) {
            runtime.del(list, pod.eth0());
        }
        NodeCensus end = NodeCensus.take(node.agent(), podNetns, null);
        assertTrue(end.empty(), "after the long-lived pods' DELs:\n" + end);

        if (CYCLES >= 100) {
            assertTrue(tally.agentKills.get() > 0, "the agent was killed");
            assertTrue(tally.addKilled.sum() > 0 && tally.delKilled.sum() > 0, "plugins were killed in ADD and DEL");
            assertTrue(!lostIds.isEmpty(), "some killed ADDs were lost, for GC to find");
            assertTrue(tally.addOk.sum() > 0, "ADDs succeeded");
        }
    }

    /** How long a plugin exec takes here, to place the kills inside it. */
    void warmUp(CniNode.Pod slot) {
        List<Double> millis = new CopyOnWriteArrayList<>();
        runtime.observe(exec -> millis.add(exec.millis()));
        for (int i = 0; i < WARMUP_CYCLES; i++) {
            CniNode.Pod pod = new CniNode.Pod("warmup" + i, slot.netns(), CniNode.containerId());
            runtime.add(list, pod.eth0());
            runtime.del(list, pod.eth0());
        }
        runtime.observe(exec -> { });
        List<Double> sorted = millis.stream().sorted().toList();
        killWindowMs = (int) Math.max(20, 1.5 * sorted.get(sorted.size() / 2));
        System.out.printf("plugin exec median %.0f ms in warm-up: kills fall within %d ms of the exec%n",
                sorted.get(sorted.size() / 2), killWindowMs);
    }

    /**
     * One pod's life: its namespace must hold no link, ADD (perhaps killed), then DEL until it
     * succeeds; or, after a killed ADD, now and then nothing more (lost). True when lost.
     */
    boolean cycle(CniNode.Pod pod, int cycle, Tally tally) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> links = KernelView.links(pod.netns());
        if (!links.isEmpty()) {
            tally.problems.add("cycle " + cycle + ": " + pod.netns() + " holds " + links
                    + " though every earlier container's DEL there succeeded");
        }
        CniRuntime.Attachment eth0 = pod.eth0();
        Duration killAdd = random.nextDouble() < KILL_PLUGIN ? Duration.ofMillis(random.nextInt(killWindowMs)) : null;
        try {
            String address = CniNode.address(runtime.add(list, eth0, killAdd));
            tally.addOk.increment();
            if (!Shell.hasAddress(pod.netns(), "eth0", address)) {
                tally.problems.add("cycle " + cycle + ": ADD succeeded with " + address + " but eth0 lacks it");
            }
        } catch (PluginException e) {
            if (e.exec().killed()) {
                tally.addKilled.increment();
                if (tally.loseOne()) {
                    tally.lost.add(pod);
                    return true;
                }
            } else if (e.code() == TRY_AGAIN_LATER) {
                tally.addTryAgain.increment();
                tally.sample(e);
            } else {
                tally.problems.add("cycle " + cycle + ": ADD failed other than 'try again later': " + e.getMessage());
            }
        }
        delUntilItSucceeds(eth0, cycle, tally);
        return false;
    }

    /** As a runtime does: DEL again after a kill or a 'try again later', with a short backoff. */
    void delUntilItSucceeds(CniRuntime.Attachment eth0, int cycle, Tally tally) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long deadline = System.nanoTime() + DEL_RETRIES.toNanos();
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
                } else if (e.code() == TRY_AGAIN_LATER) {
                    tally.delTryAgain.increment();
                    tally.sample(e);
                } else {
                    tally.problems.add("cycle " + cycle + ": DEL failed other than 'try again later': "
                            + e.getMessage());
                    return;
                }
                if (System.nanoTime() > deadline) {
                    tally.problems.add("cycle " + cycle + ": DEL did not succeed within " + DEL_RETRIES + ": "
                            + e.getMessage());
                    return;
                }
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

    /** A schedule (the runtime's backoff, the agent's downtime), never a wait for other work. */
    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
