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
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The datapath outlives the agent: a TCP stream between two pods keeps going while the agent is
 * killed with SIGKILL (or stopped with SIGTERM) and started again, and the new agent restores
 * every endpoint from its state.
 */
class AgentRestartIT extends CniNodeFixture {
    static final int STREAM_SECONDS = 8;

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

    static List<Messages.Endpoint> sorted(List<Messages.Endpoint> endpoints) {
        return endpoints.stream().sorted(Comparator.comparing(Messages.Endpoint::containerID)).toList();
    }

    @Test
    void aStreamSurvivesTheAgentsKillAndEveryEndpointIsRestored() throws Exception {
        List<Messages.Endpoint> before = sorted(node.agent().client().endpoints());
        assertEquals(2, before.size());
        long forwardedBefore = forwardedPackets();

        Iperf.Stream stream = Iperf.startTcp(network, b.netns(), a.netns(), ipB, STREAM_SECONDS);
        Thread.sleep(2500);
        long pid = node.agent().pid();
        node.agent().kill();
        long down = System.nanoTime();
        Thread.sleep(500);
        node.agent().start();
        double downSeconds = (System.nanoTime() - down) / 1e9;
        Iperf.Summary summary = stream.await(STREAM_SECONDS + 30);
        long forwarded = forwardedPackets() - forwardedBefore;

        System.out.printf("agent pid %d killed (SIGKILL) 2.5 s into an %d s stream, healthy again after %.2f s%n",
                pid, STREAM_SECONDS, downSeconds);
        System.out.printf("stream: %d bytes sent, %d received, %d retransmits, %d intervals, fewest bytes in one"
                + " interval %d, error %s%n", summary.bytesSent(), summary.bytesReceived(), summary.retransmits(),
                summary.intervals(), summary.minIntervalBytes(), summary.error());
        System.out.printf("retransmits per second: %s (the kill fell in the third; a bare veth pair here shows"
                + " thousands per second too)%n", summary.intervalRetransmits());
        System.out.printf("packets forwarded by from_container meanwhile: %d%n", forwarded);

        assertNull(summary.error(), "iperf3 reported an error");
        assertTrue(summary.completed(), summary.toString());
        assertTrue(summary.intervals() >= STREAM_SECONDS - 1, summary.toString());
        assertTrue(summary.minIntervalBytes() > 0, "no second without data: " + summary);
        assertTrue(forwarded > 1000, "the stream went through the datapath: " + forwarded + " packets");

        List<Messages.Endpoint> after = sorted(node.agent().client().endpoints());
        assertEquals(before, after, "the restarted agent restored every endpoint as it was");
        NodeCensus census = NodeCensus.take(node.agent(), List.of(), null);
        System.out.println("after the restart:\n" + census);
        assertTrue(census.holds(2), census.toString());
        runtime.check(list, a.eth0());
        runtime.check(list, b.eth0());
        assertTrue(Shell.run(20, Shell.inNetns(a.netns(), "ping", "-c", "2", "-i", "0.2", "-W", "2", ipB)).ok());

        // The restored agent serves: a third pod comes and goes.
        CniNode.Pod c = node.pod("c");
        runtime.add(list, c.eth0());
        runtime.del(list, c.eth0());
        assertTrue(NodeCensus.take(node.agent(), List.of(c.netns()), null).holds(2));
    }

    @Test
    void sigtermStopsTheAgentAndLeavesTheDatapath() throws Exception {
        int exit = node.agent().terminate(Duration.ofSeconds(30));
        System.out.println("agent exited " + exit + " on SIGTERM");
        assertEquals(0, exit, "a clean stop; log:\n" + node.agent().logTail(20));
        assertFalse(java.nio.file.Files.exists(node.agent().socket()), "the socket file is removed on a clean stop");

        // With no agent: the pods still talk through the pinned datapath.
        assertTrue(Shell.run(20, Shell.inNetns(a.netns(), "ping", "-c", "2", "-i", "0.2", "-W", "2", ipB)).ok());
        Iperf.Result tcp = Iperf.run(b.netns(), a.netns(), ipB, false);
        assertTrue(tcp.bytes() > 1_000_000, tcp.toString());
        try (DatapathMaps maps = DatapathMaps.openPinned(node.agent().pinRoot())) {
            assertEquals(2, maps.endpoints().keys().size());
        }

        node.agent().start();
        NodeCensus census = NodeCensus.take(node.agent(), List.of(), null);
        assertTrue(census.holds(2), census.toString());
        runtime.del(list, a.eth0());
        runtime.del(list, b.eth0());
        assertTrue(NodeCensus.take(node.agent(), List.of(a.netns(), b.netns()), null).empty());
    }
}
