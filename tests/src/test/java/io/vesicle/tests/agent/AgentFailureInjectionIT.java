package io.vesicle.tests.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.MacAddress;
import io.vesicle.tests.support.NodeSnapshot;
import io.vesicle.tests.support.Pod;
import io.vesicle.tests.support.Shell;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real runtime failures at every step of create, delete and restore (a RuntimeException from the
 * agent's checkpoint, so its undo paths run), and faults in the kernel objects themselves (a name
 * taken between steps, a pin removed, a full map, a foreign program at the tc hook). Each is
 * judged by the node as seen from outside the agent ({@link NodeSnapshot}), compared by content.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AgentFailureInjectionIT extends InProcessAgentTestBase {

    /** A create failing at any step answers an error and leaves the node exactly as before. */
    @ParameterizedTest
    @ValueSource(strings = {"intent", "address", "veth", "entries", "route", "program", "ready"})
    void aCreateFailingAtAnyStepLeavesTheNodeAsBefore(String step) {
        node.start(fault);
        String live = node.pod("live");
        Messages.Endpoint running = node.create("clive", live);
        String target = node.pod("target");
        NodeSnapshot before = node.snapshot();

        fault.once(step);
        failedAt(step, () -> node.create("c1", target));
        NodeSnapshot.assertSame(before, node.snapshot(), "a create failed at " + step);
        assertTrue(client.endpoint("c1", "eth0").isEmpty(), "no endpoint is left in the agent");

        // Nothing of the failure stays in the agent either: the same create now succeeds.
        Messages.Endpoint retried = node.create("c1", target);
        assertEquals(2, retried.id(), "the failed create's id is free again");
        assertReaches(target, ip(running));
        assertTrue(client.deleteEndpoint("c1", "eth0").deleted());
        NodeSnapshot.assertSame(before, node.snapshot(), "the retried create and its DELETE");
    }

    /** A delete failing at any step leaves the endpoint deletable: the next DELETE removes all of it. */
    @ParameterizedTest
    @ValueSource(strings = {"teardown:intent", "teardown:program", "teardown:route", "teardown:entries",
            "teardown:veth", "teardown:address"})
    void aDeleteFailingAtAnyStepIsFinishedByTheNextDelete(String step) {
        node.start(fault);
        node.create("clive", node.pod("live"));
        String target = node.pod("target");
        NodeSnapshot before = node.snapshot();
        node.create("c1", target);

        fault.once(step);
        failedAt(step, () -> client.deleteEndpoint("c1", "eth0"));
        assertTrue(client.deleteEndpoint("c1", "eth0").deleted(), "a second DELETE after a failure at " + step);
        NodeSnapshot.assertSame(before, node.snapshot(), "a delete failed at " + step + ", then a DELETE");
        assertTrue(client.checkEndpoint("clive", "eth0").ok(), "the live endpoint is untouched");
    }

    /** A delete failing at any step, then the agent restarted instead: the restore finishes it. */
    @ParameterizedTest
    @ValueSource(strings = {"teardown:intent", "teardown:entries", "teardown:address"})
    void aDeleteFailingAtAStepIsFinishedByTheNextRestart(String step) {
        node.start(fault);
        String target = node.pod("target");
        NodeSnapshot before = node.snapshot();
        node.create("c1", target);
        fault.once(step);
        failedAt(step, () -> client.deleteEndpoint("c1", "eth0"));

        node.restart(EndpointManager.Checkpoint.NONE);
        assertEquals(1, node.agent().restoreReport().cleanedUp(), node.agent().restoreReport().toString());
        NodeSnapshot.assertSame(before, node.snapshot(), "a delete failed at " + step + ", then a restart");
    }

    /**
     * A restore failing at any step for every endpoint: the running pods' traffic and entries are
     * untouched, the endpoints wait (not ready) for the next restart, which restores them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"regenerate:veth", "regenerate:entries", "regenerate:route", "regenerate:program"})
    void aRestoreFailingAtAnyStepLeavesRunningPodsAloneAndTheNextRestartRestores(String step) {
        node.start(fault);
        String podA = node.pod("a");
        String podB = node.pod("b");
        NodeSnapshot empty = node.snapshot();
        Messages.Endpoint a = node.create("ca", podA);
        Messages.Endpoint b = node.create("cb", podB);
        NodeSnapshot wired = node.snapshot().withoutProgramIds();

        fault.always(step);
        node.restart(fault);
        EndpointManager.RestoreReport report = node.agent().restoreReport();
        assertEquals(2, report.failed(), report.toString());
        assertEquals(0, report.restored(), report.toString());
        for (String id : List.of("ca", "cb")) {
            assertEquals("not-ready", client.endpoint(id, "eth0").orElseThrow().state());
            AgentClient.ApiException notReady = refused(409, () -> client.checkEndpoint(id, "eth0"));
            assertTrue(notReady.getMessage().contains("not ready"), notReady.getMessage());
        }
        assertReaches(podA, ip(b));
        assertReaches(podB, ip(a));
        NodeSnapshot.assertSame(wired, node.snapshot().withoutProgramIds(), "a restore failed at " + step);

        fault.disarm();
        node.restart(fault);
        assertEquals(2, node.agent().restoreReport().restored(), node.agent().restoreReport().toString());
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        assertReaches(podA, ip(b));
        assertEquals(List.of(withoutState(a), withoutState(b)),
                client.endpoints().stream().map(InProcessAgentTestBase::withoutState).toList(), "restored as they were");
        client.deleteEndpoint("ca", "eth0");
        client.deleteEndpoint("cb", "eth0");
        NodeSnapshot.assertSame(empty, node.snapshot(), "the restored endpoints' DELETEs");
    }

    /** Endpoints whose restore failed are removed by a DELETE and by a GC like any other. */
    @Test
    void endpointsWhoseRestoreFailedGoWithDeleteAndGc() {
        node.start(fault);
        String podA = node.pod("a");
        String podB = node.pod("b");
        NodeSnapshot empty = node.snapshot();
        node.create("ca", podA);
        node.create("cb", podB);
        fault.always("regenerate:entries");
        node.restart(fault);
        assertEquals(2, node.agent().restoreReport().failed());

        assertTrue(client.deleteEndpoint("ca", "eth0").deleted());
        assertEquals(List.of(new Messages.Attachment("cb", "eth0")),
                client.gc(new Messages.GcRequest(List.of())).removed());
        NodeSnapshot.assertSame(empty, node.snapshot(), "DELETE and GC of endpoints whose restore failed");
    }

    // ---- faults in the kernel objects

    /**
     * The pod's interface name taken between the agent's steps (after its address, before its
     * veth): the create is refused naming it, the intruder is left as it was, nothing else stays.
     */
    @Test
    void aPodInterfaceNameTakenBetweenStepsIsAConflictAndTheIntruderIsKept() {
        node.start(fault);
        String target = node.pod("target");
        NodeSnapshot before = node.snapshot();
        fault.during("address", s -> Shell.check("ip", "-n", target, "link", "add", "eth0", "type", "veth", "peer",
                "name", "intruder"));
        AgentClient.ApiException taken = refused(409, () -> node.create("c1", target));
        assertTrue(taken.getMessage().contains("eth0"), taken.getMessage());
        assertTrue(Shell.run("ip", "-n", target, "link", "show", "intruder").ok(), "the intruder is kept");
        Shell.check("ip", "-n", target, "link", "del", "eth0");
        NodeSnapshot.assertSame(before, node.snapshot(), "a create meeting a taken pod interface name");
    }

    /**
     * The host side's name (lxc + 11 hex of sha256(containerID/ifname)) taken before the create, or
     * between its steps: the name is the agent's, so the stray is replaced and the create works;
     * its DELETE leaves the node as before the stray.
     */
    @ParameterizedTest
    @ValueSource(strings = {"before", "intent", "address"})
    void aHostVethNameTakenBeforeOrBetweenStepsIsReplaced(String when) {
        node.start(fault);
        String live = node.pod("live");
        Messages.Endpoint running = node.create("clive", live);
        String target = node.pod("target");
        NodeSnapshot before = node.snapshot();
        String hostIf = new AttachmentKey("c1", "eth0").hostIfName();
        Runnable takeName = () -> inNode("ip", "link", "add", hostIf, "type", "veth", "peer", "name", "stray");
        if (when.equals("before")) {
            takeName.run();
        } else {
            fault.during(when, s -> takeName.run());
        }
        Messages.Endpoint e = node.create("c1", target);
        assertEquals(hostIf, e.hostIf());
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
        assertFalse(Shell.run(10, Shell.inNetns(node.nodeNetns(), "ip", "link", "show", "stray")).ok(),
                "the stray veth went");
        assertReaches(target, ip(running));
        client.deleteEndpoint("c1", "eth0");
        NodeSnapshot.assertSame(before, node.snapshot(), "a create over a stray " + hostIf + ", then DELETE");
    }

    /**
     * A map pin removed under a running agent: health answers 503 naming it; the pods keep talking
     * (the programs hold the map); a restart pins a fresh map, writes every endpoint's entries into
     * it and replaces the programs in place, and the node is as it was.
     */
    @Test
    void aRemovedPinIsNamedByHealthAndRepairedByARestart() throws Exception {
        node.start(fault);
        String podA = node.pod("a");
        String podB = node.pod("b");
        Messages.Endpoint a = node.create("ca", podA);
        Messages.Endpoint b = node.create("cb", podB);
        NodeSnapshot wired = node.snapshot().withoutProgramIds();

        Files.delete(node.pinRoot().resolve(DatapathMaps.ENDPOINTS));
        AgentClient.ApiException unhealthy = refused(503, () -> client.health());
        assertTrue(unhealthy.getMessage().contains(node.pinRoot().resolve(DatapathMaps.ENDPOINTS).toString()),
                unhealthy.getMessage());
        assertReaches(podA, ip(b));

        node.restart(fault);
        assertEquals("ok", client.health().status());
        assertEquals(2, node.agent().restoreReport().restored());
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        assertReaches(podA, ip(b));
        assertReaches(podB, ip(a));
        NodeSnapshot.assertSame(wired, node.snapshot().withoutProgramIds(), "a removed pin, then a restart");
    }

    /** A full endpoint map: a create fails cleanly, leaving nothing; with room again it works. */
    @Test
    void aCreateMeetingAFullMapFailsAndLeavesNothing() {
        node.start(fault);
        String live = node.pod("live");
        node.create("clive", live);
        String target = node.pod("target");
        Map<EndpointKey, EndpointInfo> filler = new LinkedHashMap<>();
        try (DatapathMaps maps = DatapathMaps.openPinned(node.pinRoot())) {
            int room = maps.endpoints().raw().maxEntries() - maps.endpoints().keys().size();
            for (int i = 0; i < room; i++) {
                EndpointInfo info = new EndpointInfo(Pod.address("10.203." + (i >> 8) + "." + (i & 0xff)), 0,
                        60000, 0, 0, MacAddress.parse("02:00:00:00:00:01"), MacAddress.parse("02:00:00:00:00:02"));
                filler.put(new EndpointKey(info.address()), info);
            }
            maps.endpoints().putAll(filler);
        }
        NodeSnapshot before = node.snapshot();
        AgentClient.ApiException full = assertThrows(AgentClient.ApiException.class, () -> node.create("c1", target));
        assertTrue(full.getMessage().contains(DatapathMaps.ENDPOINTS) || full.getMessage().contains("full"),
                full.getMessage());
        NodeSnapshot.assertSame(before, node.snapshot(), "a create meeting a full " + DatapathMaps.ENDPOINTS);

        try (DatapathMaps maps = DatapathMaps.openPinned(node.pinRoot())) {
            maps.endpoints().removeAll(filler.keySet());
        }
        node.create("c1", target);
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
    }

    /**
     * Another program at Vesicle's tc handle and priority (a classic BPF classifier, put there with
     * tc): CHECK names it, the pod's traffic stops, and a restore puts from_container back in place.
     */
    @Test
    void aForeignProgramAtTheTcHookIsNamedByCheckAndReplacedByARestore() {
        node.start(fault);
        String podA = node.pod("a");
        String podB = node.pod("b");
        Messages.Endpoint a = node.create("ca", podA);
        Messages.Endpoint b = node.create("cb", podB);
        NodeSnapshot wired = node.snapshot().withoutProgramIds();

        inNode("tc", "filter", "replace", "dev", a.hostIf(), "ingress", "handle", "1", "prio", "1", "protocol", "all",
                "bpf", "bytecode", "1,6 0 0 0,");
        AgentClient.ApiException differs = refused(409, () -> client.checkEndpoint("ca", "eth0"));
        assertTrue(differs.getMessage().contains("tc ingress of " + a.hostIf())
                || differs.getMessage().contains("no datapath program"), differs.getMessage());
        assertFalse(pingOnce(podA, ip(b)), "a's frames no longer meet the datapath");

        node.restart(fault);
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertReaches(podA, ip(b));
        NodeSnapshot.assertSame(wired, node.snapshot().withoutProgramIds(), "a foreign filter, then a restore");
        int programId = node.agent().datapath().programId();
        String filter = inNode("tc", "-j", "filter", "show", "dev", a.hostIf(), "ingress");
        assertTrue(filter.contains("\"id\":" + programId), "the new agent's program " + programId + ": " + filter);
    }
}
