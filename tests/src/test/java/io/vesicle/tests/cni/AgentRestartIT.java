package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.Messages;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.Direction;
import io.vesicle.maps.Reason;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.Iperf;
import io.vesicle.tests.support.KernelView;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The datapath outlives the agent: a TCP stream between two pods keeps going while the agent is
 * killed with SIGKILL (or stopped with SIGTERM) and started again. Judged by the kernel's view,
 * sampled all along from the node namespace: both endpoint maps' entries (bpftool, by content),
 * the veths (same ifindex) and their tc filters (same priority and handle, a program attached)
 * never change or go missing; the new agent's restore finishes while the stream still runs.
 */
class AgentRestartIT extends CniNodeFixture {
    /** Long enough for a restart on a busy 2-core machine to fall inside it. */
    static final int STREAM_SECONDS = 30;
    static final Duration WITHIN = Duration.ofSeconds(30);
    /** Samples taken once the new agent has restored, while it runs on the datapath. */
    static final int SAMPLES_AFTER_RESTORE = 3;

    CniNode.Pod a;
    CniNode.Pod b;
    String ipB;

    @BeforeEach
    void setUp() {
        a = node.pod("a");
        b = node.pod("b");
        runtime.add(list, a.eth0());
        ipB = CniNode.address(runtime.add(list, b.eth0()));
    }

    long forwardedPackets() {
        try (DatapathMaps maps = DatapathMaps.openPinned(node.agent().pinRoot())) {
            return maps.metrics().get(Reason.FORWARDED, Direction.EGRESS).packets();
        }
    }

    List<Messages.Endpoint> endpoints() {
        return node.agent().client().endpoints().stream().sorted(Comparator.comparing(Messages.Endpoint::containerID))
                .toList();
    }

    KernelView.Datapath kernel() {
        return KernelView.datapath(node.netns(), node.agent().pinRoot());
    }

    /** The two pods' veths, entries and one from_container filter each. */
    static void assertWired(KernelView.Datapath datapath) {
        assertEquals(2, datapath.endpoints().size(), datapath.toString());
        assertEquals(2, datapath.byIfindex().size(), datapath.toString());
        assertEquals(2, datapath.veths().size(), datapath.toString());
        datapath.ingress().forEach((dev, filters) -> {
            assertEquals(1, filters.size(), dev + ": " + filters);
            assertEquals("from_container", filters.get(0).program(), dev + ": " + filters);
        });
    }

    static void await(String what, BooleanSupplier condition) {
        Poll.until(what, WITHIN, condition);
    }

    /** The kernel's view read in a loop on its own thread, each sample timed. */
    final class Sampler implements AutoCloseable {
        record Sample(long startNanos, long endNanos, KernelView.Datapath datapath, String error) {
        }

        final List<Sample> samples = new CopyOnWriteArrayList<>();
        volatile boolean stopped;
        final Thread thread = new Thread(this::loop, "datapath-sampler");

        Sampler start() {
            thread.setDaemon(true);
            thread.start();
            return this;
        }

        void loop() {
            while (!stopped) {
                long start = System.nanoTime();
                try {
                    samples.add(new Sample(start, System.nanoTime(), kernel(), null));
                } catch (RuntimeException e) {
                    samples.add(new Sample(start, System.nanoTime(), null, e.toString()));
                }
            }
        }

        long countWithin(long fromNanos, long toNanos) {
            return samples.stream().filter(s -> s.startNanos() >= fromNanos && s.endNanos() <= toNanos).count();
        }

        /** The samples that differ from expected (program ids aside) or could not be taken. */
        List<String> deviations(KernelView.Datapath expected) {
            List<String> out = new ArrayList<>();
            for (Sample s : samples) {
                if (s.datapath() == null || !s.datapath().withoutProgramIds().equals(expected.withoutProgramIds())) {
                    out.add(s.error() != null ? s.error() : s.datapath().toString());
                }
            }
            return out;
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            thread.join(WITHIN.toMillis());
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aStreamSurvivesTheAgentsKillAndEveryEndpointIsRestoredInPlace() throws Exception {
        List<Messages.Endpoint> before = endpoints();
        assertEquals(2, before.size());
        KernelView.Datapath kernelBefore = kernel();
        assertWired(kernelBefore);
        long forwardedBefore = forwardedPackets();

        Iperf.Stream stream = Iperf.startTcp(network, b.netns(), a.netns(), ipB, STREAM_SECONDS);
        await("the stream flows through from_container", () -> forwardedPackets() - forwardedBefore > 1000);
        long pid = node.agent().pid();
        long killedAt;
        long healthyAt;
        long restoredAt;
        boolean streamRanAtRestore;
        List<String> deviations;
        long samplesDuringRestart;
        int samples;
        try (Sampler sampler = new Sampler().start()) {
            await("a first sample", () -> !sampler.samples.isEmpty());
            node.agent().kill();
            killedAt = System.nanoTime();
            node.agent().start();
            healthyAt = System.nanoTime();
            await("the restarted agent lists every endpoint", () -> endpoints().equals(before));
            restoredAt = System.nanoTime();
            streamRanAtRestore = stream.running();
            await("samples after the restore", () -> sampler.countWithin(restoredAt, Long.MAX_VALUE)
                    >= SAMPLES_AFTER_RESTORE);
            sampler.close();
            deviations = sampler.deviations(kernelBefore);
            samplesDuringRestart = sampler.countWithin(killedAt, healthyAt);
            samples = sampler.samples.size();
        }
        System.out.printf("agent pid %d killed (SIGKILL) during a %d s stream, healthy again after %.2f s,"
                + " endpoints listed after %.2f s%n", pid, STREAM_SECONDS, (healthyAt - killedAt) / 1e9,
                (restoredAt - killedAt) / 1e9);
        System.out.printf("datapath sampled %d times (%d between the kill and health), %d deviations%n", samples,
                samplesDuringRestart, deviations.size());
        assertTrue(deviations.isEmpty(), deviations.size() + " of " + samples + " samples during the kill and"
                + " restart differ from the datapath before (" + kernelBefore + "); first: "
                + deviations.stream().findFirst().orElse(""));
        assertTrue(samplesDuringRestart > 0, "sampled between the kill and the new agent's health");
        assertTrue(streamRanAtRestore, "the agent restored while the stream was still running");

        Iperf.Summary summary = stream.await(STREAM_SECONDS + 30);
        long forwarded = forwardedPackets() - forwardedBefore;
        System.out.printf("stream: %d bytes sent, %d received, %d retransmits, %d intervals, fewest bytes in one"
                + " interval %d, error %s%n", summary.bytesSent(), summary.bytesReceived(), summary.retransmits(),
                summary.intervals(), summary.minIntervalBytes(), summary.error());
        System.out.printf("packets forwarded by from_container meanwhile: %d%n", forwarded);
        assertNull(summary.error(), "iperf3 reported an error");
        assertTrue(summary.completed(), summary.toString());
        assertTrue(summary.intervals() >= STREAM_SECONDS - 1, summary.toString());
        assertTrue(summary.minIntervalBytes() > 0, "no second without data: " + summary);
        assertTrue(forwarded > 1000, "the stream went through the datapath: " + forwarded + " packets");

        // Restored in place, by the kernel's view: same veths, filters, entries.
        KernelView.Datapath kernelAfter = kernel();
        assertEquals(kernelBefore.withoutProgramIds(), kernelAfter.withoutProgramIds());
        assertEquals(before, endpoints(), "the restarted agent restored every endpoint as it was");
        NodeCensus census = NodeCensus.take(node.agent(), List.of(), null);
        assertTrue(census.holds(2), census.toString());
        runtime.check(list, a.eth0());
        runtime.check(list, b.eth0());
        assertTrue(Shell.awaitPing(a.netns(), ipB, Duration.ofSeconds(10)), "a reaches b");

        // The restored agent serves: a third pod comes and goes.
        CniNode.Pod c = node.pod("c");
        runtime.add(list, c.eth0());
        runtime.del(list, c.eth0());
        NodeCensus end = NodeCensus.take(node.agent(), List.of(c.netns()), null);
        assertTrue(end.holds(2), end.toString());
    }

    @Test
    void sigtermStopsTheAgentAndLeavesTheDatapath() throws Exception {
        KernelView.Datapath kernelBefore = kernel();
        assertWired(kernelBefore);
        int exit = node.agent().terminate(Duration.ofSeconds(30));
        System.out.println("agent exited " + exit + " on SIGTERM");
        assertEquals(0, exit, "a clean stop; log:\n" + node.agent().logTail(20));
        assertFalse(java.nio.file.Files.exists(node.agent().socket()), "the socket file is removed on a clean stop");

        // With no agent: the datapath is as it was, program ids included, and the pods talk through it.
        assertEquals(kernelBefore, kernel());
        assertTrue(Shell.awaitPing(a.netns(), ipB, Duration.ofSeconds(10)), "a reaches b with no agent");
        Iperf.Result tcp = Iperf.run(b.netns(), a.netns(), ipB, false);
        assertTrue(tcp.bytes() > 1_000_000, tcp.toString());

        node.agent().start();
        assertEquals(kernelBefore.withoutProgramIds(), kernel().withoutProgramIds(), "restored in place");
        NodeCensus census = NodeCensus.take(node.agent(), List.of(), null);
        assertTrue(census.holds(2), census.toString());
        runtime.del(list, a.eth0());
        runtime.del(list, b.eth0());
        NodeCensus end = NodeCensus.take(node.agent(), List.of(a.netns(), b.netns()), null);
        assertTrue(end.empty(), end.toString());
    }
}
