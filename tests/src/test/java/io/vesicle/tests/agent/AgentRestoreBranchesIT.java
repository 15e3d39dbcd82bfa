package io.vesicle.tests.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.NodeSnapshot;
import io.vesicle.tests.support.Pod;
import io.vesicle.tests.support.Repo;
import io.vesicle.tests.support.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The branches of the agent's restore, each from a node with two wired pods and the agent stopped
 * (as a crash leaves it): a state file that cannot be read, a datapath entry pointing at the
 * wrong device, an address the IPAM gives to another endpoint, an endpoint that cannot be
 * re-attached; and the state directory's lock against a second agent. Judged by the node as seen
 * from outside ({@link NodeSnapshot}), program ids aside (a new agent's program replaces the old).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AgentRestoreBranchesIT extends InProcessAgentTestBase {
    String podA;
    String podB;
    NodeSnapshot empty;
    Messages.Endpoint a;
    Messages.Endpoint b;
    NodeSnapshot wired;

    @BeforeEach
    void wireTwoPods() {
        node.start(fault);
        podA = node.pod("a");
        podB = node.pod("b");
        empty = node.snapshot();
        a = node.create("ca", podA);
        b = node.create("cb", podB);
        wired = node.snapshot().withoutProgramIds();
        node.stop();
    }

    Path stateFile(String containerID) {
        return node.stateDir().resolve("endpoints").resolve(containerID + "_eth0.json");
    }

    Path ipamFile(Messages.Endpoint e) {
        return node.stateDir().resolve("ipam").resolve(ip(e));
    }

    void assertBothWork() {
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        assertReaches(podA, ip(b));
        assertReaches(podB, ip(a));
    }

    void deleteBothAndAssertEmpty(String what, String... keptFiles) {
        assertTrue(client.deleteEndpoint("ca", "eth0").deleted());
        assertTrue(client.deleteEndpoint("cb", "eth0").deleted());
        NodeSnapshot after = node.snapshot();
        for (String kept : keptFiles) {
            after = after.without("file " + kept);
        }
        NodeSnapshot.assertSame(empty, after, what + ", then DELETE of both");
    }

    /**
     * An unreadable state file (empty, torn in the middle, another endpoint's content) is rebuilt
     * from the kernel: the pod keeps its network and address, the file is valid again with the same
     * id, MACs and veth, and the original bytes are kept beside it as *.corrupt.
     */
    @ParameterizedTest
    @ValueSource(strings = {"empty", "torn", "another endpoint's"})
    void anUnreadableStateFileIsRebuiltFromTheKernel(String damage) throws IOException {
        Path file = stateFile("ca");
        byte[] original = Files.readAllBytes(file);
        byte[] damaged = switch (damage) {
            case "empty" -> new byte[0];
            case "torn" -> Arrays.copyOf(original, original.length / 2);
            default -> Files.readAllBytes(stateFile("cb"));
        };
        Files.write(file, damaged);

        node.start(fault);
        EndpointManager.RestoreReport report = node.agent().restoreReport();
        assertEquals(1, report.rebuilt(), report.toString());
        assertEquals(2, report.restored(), report.toString());
        assertBothWork();
        JsonNode before = CniRuntime.JSON.readTree(original);
        JsonNode rebuilt = CniRuntime.JSON.readTree(Files.readAllBytes(file));
        assertSameEndpoint(before, rebuilt, file);
        assertArrayEquals(damaged, Files.readAllBytes(file.resolveSibling(file.getFileName() + ".corrupt")));
        Messages.Endpoint seen = client.endpoint("ca", "eth0").orElseThrow();
        assertEquals(List.of(a.id(), a.hostIf(), a.mac(), a.hostMac(), a.address()),
                List.of(seen.id(), seen.hostIf(), seen.mac(), seen.hostMac(), seen.address()),
                "what the agent tells of the rebuilt endpoint");
        String rebuiltFile = "endpoints/ca_eth0.json";
        NodeSnapshot.assertSame(wired.without("file " + rebuiltFile), node.snapshot().withoutProgramIds()
                .without("file " + rebuiltFile), "a " + damage + " state file rebuilt");
        deleteBothAndAssertEmpty("a " + damage + " state file rebuilt", rebuiltFile + ".corrupt");
    }

    /**
     * A datapath entry for a's address pointing at a device that does not exist, or at b's veth:
     * the restore rewrites it (the ifindex entry of the wrong one is swept) and the node is as
     * it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {"no device", "b's veth"})
    void anEntryWithTheWrongIfindexIsRewritten(String wrong) {
        try (DatapathMaps maps = DatapathMaps.openPinned(node.pinRoot())) {
            EndpointKey key = new EndpointKey(Pod.address(ip(a)));
            EndpointInfo right = maps.endpoints().get(key).orElseThrow();
            int index = wrong.equals("no device") ? 9999
                    : maps.endpoints().get(new EndpointKey(Pod.address(ip(b)))).orElseThrow().ifindex();
            maps.endpoints().put(key, new EndpointInfo(right.address(), index, right.endpointId(), right.identity(),
                    0, right.mac(), right.nodeMac()));
        }
        node.start(fault);
        assertEquals(2, node.agent().restoreReport().restored(), node.agent().restoreReport().toString());
        assertBothWork();
        NodeSnapshot.assertSame(wired, node.snapshot().withoutProgramIds(), "an entry pointing at " + wrong);
        deleteBothAndAssertEmpty("an entry pointing at " + wrong);
    }

    /**
     * a's address given to b in the IPAM (its allocation file names cb): a cannot be restored and
     * waits, not ready, its traffic untouched; b is restored; DELETEs then leave nothing.
     */
    @Test
    void anAddressOwnedByAnotherEndpointLeavesTheEndpointWaitingAndDeletable() throws IOException {
        Path allocation = ipamFile(a);
        String content = Files.readString(allocation);
        assertTrue(content.startsWith("ca\n"), content);
        Files.writeString(allocation, "cb\n" + content.substring(3));

        node.start(fault);
        EndpointManager.RestoreReport report = node.agent().restoreReport();
        assertEquals(1, report.failed(), report.toString());
        assertEquals(1, report.restored(), report.toString());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        AgentClient.ApiException waiting = refused(409, () -> client.checkEndpoint("ca", "eth0"));
        assertTrue(waiting.getMessage().contains("not ready"), waiting.getMessage());
        assertReaches(podA, ip(b));
        assertReaches(podB, ip(a));
        String ipamOfA = "file ipam/" + ip(a);
        NodeSnapshot.assertSame(wired.without(ipamOfA), node.snapshot().withoutProgramIds().without(ipamOfA),
                "a's address owned by b");
        deleteBothAndAssertEmpty("a's address owned by b");
    }

    /**
     * a's veth renamed while the agent is down: it can no longer be found, so the restore cleans
     * a up (its entries, address and state) and leaves the renamed device, no longer named like
     * the agent's, alone; b is untouched.
     */
    @Test
    void anEndpointWhoseVethWasRenamedIsCleanedUpAndOthersRestored() {
        inNode("ip", "link", "set", a.hostIf(), "down");
        inNode("ip", "link", "set", a.hostIf(), "name", "renamed0");
        inNode("ip", "link", "set", "renamed0", "up");

        node.start(fault);
        EndpointManager.RestoreReport report = node.agent().restoreReport();
        assertEquals(1, report.cleanedUp(), report.toString());
        assertEquals(1, report.restored(), report.toString());
        assertTrue(client.endpoint("ca", "eth0").isEmpty());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        assertTrue(Shell.run(10, Shell.inNetns(node.nodeNetns(), "ip", "link", "show", "renamed0")).ok(),
                "a device not named like the agent's is left alone");
        try (DatapathMaps maps = DatapathMaps.openPinned(node.pinRoot())) {
            assertEquals(List.of(new EndpointKey(Pod.address(ip(b)))), maps.endpoints().keys(),
                    "only b's entry is left");
        }
        inNode("ip", "link", "del", "renamed0");
        assertTrue(client.deleteEndpoint("cb", "eth0").deleted());
        NodeSnapshot.assertSame(empty, node.snapshot(), "a renamed veth, then b's DELETE");
    }

    /**
     * a's pod side broken while the agent is down (its address and routes flushed): the restore
     * must not call it re-attached while CHECK finds it different.
     */
    @Test
    void anEndpointWhosePodSideIsBrokenIsNotReportedRestored() {
        Shell.check("ip", "-n", podA, "addr", "flush", "dev", "eth0");
        node.start(fault);
        Messages.Endpoint restored = client.endpoint("ca", "eth0").orElseThrow();
        if ("ready".equals(restored.state())) {
            assertTrue(client.checkEndpoint("ca", "eth0").ok(), "a ready endpoint is as it should be");
            assertReaches(podA, ip(b));
        } else {
            assertEquals(1, node.agent().restoreReport().failed(), node.agent().restoreReport().toString());
        }
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        deleteBothAndAssertEmpty("a broken pod side");
    }

    /**
     * A second agent process on the same state directory refuses to start, naming it; the first
     * is unaffected.
     */
    @Test
    void theStateDirectoryLockRefusesASecondAgent() {
        node.start(fault);
        Shell.Result second = Shell.run(60, Shell.inNetns(node.nodeNetns(), Repo.vesicle().toString(), "agent",
                "--pod-cidr", POD_CIDR, "--state-dir", node.stateDir().toString(), "--bpffs-root",
                node.pinRoot().toString(), "--api-socket", node.stateDir().resolveSibling("second.sock").toString()));
        assertTrue(second.exitCode() != 0, "the second agent exited " + second.exitCode());
        String said = second.stdout() + second.stderr();
        assertTrue(said.contains("another agent is running with the state directory " + node.stateDir()), said);
        assertEquals("ok", client.health().status());
        assertBothWork();
        String podC = node.pod("c");
        node.create("cc", podC);
        assertReaches(podC, ip(a));
        assertTrue(client.deleteEndpoint("cc", "eth0").deleted());
        NodeSnapshot.assertSame(wired, node.snapshot().without("c ").withoutProgramIds(), "a second agent refused");
    }

    /** The rebuilt file names the same endpoint as the original (netns: the same file, by any path). */
    static void assertSameEndpoint(JsonNode original, JsonNode rebuilt, Path file) throws IOException {
        for (String member : List.of("status", "id", "containerID", "ifname", "hostIf", "hostMac", "mac")) {
            assertEquals(original.path(member), rebuilt.path(member), member + " of the rebuilt " + file);
        }
        assertTrue(Files.isSameFile(Path.of(original.path("netns").asText()), Path.of(rebuilt.path("netns").asText())),
                "netns of the rebuilt " + file + ": " + rebuilt.path("netns") + ", was " + original.path("netns"));
    }
}
