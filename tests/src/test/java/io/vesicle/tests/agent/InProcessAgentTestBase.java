package io.vesicle.tests.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.InProcessAgent;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.TestNetwork;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.function.Executable;

/**
 * One node per test: its agent in this JVM with a {@link Fault} as its checkpoint, pods in
 * namespaces of the test's network; everything goes with the network, on success and failure.
 */
abstract class InProcessAgentTestBase {
    static final String POD_CIDR = "10.202.0.0/24";
    static final Duration PING_BOUND = Duration.ofSeconds(10);

    TestNetwork network;
    InProcessAgent node;
    AgentClient client;
    final Fault fault = new Fault();

    @BeforeEach
    void startNode() {
        network = new TestNetwork();
        node = new InProcessAgent(network, POD_CIDR);
        client = node.client();
    }

    @AfterEach
    void closeNode() {
        try {
            if (node != null) {
                node.close();
            }
        } finally {
            network.close();
        }
    }

    static String ip(Messages.Endpoint e) {
        return e.address().substring(0, e.address().indexOf('/'));
    }

    /** e as the agent tells it, its life-cycle state left out. */
    static Messages.Endpoint withoutState(Messages.Endpoint e) {
        return new Messages.Endpoint(e.id(), e.containerID(), e.ifname(), e.netns(), e.podNamespace(), e.podName(),
                e.hostIf(), e.hostMac(), e.mac(), e.address(), e.gateway(), e.mtu(), e.ipamOwned(), e.network(), null);
    }

    /** Whether one ping from the namespace gets an answer within a second (by ping's exit code). */
    static boolean pingOnce(String fromNetns, String address) {
        return Shell.run(5, Shell.inNetns(fromNetns, "ping", "-c", "1", "-W", "1", address)).ok();
    }

    /** Pings until one is answered, failing when none is within the bound. */
    static void assertReaches(String fromNetns, String address) {
        long deadline = System.nanoTime() + PING_BOUND.toNanos();
        while (System.nanoTime() < deadline) {
            if (pingOnce(fromNetns, address)) {
                return;
            }
        }
        throw new AssertionError(fromNetns + " cannot reach " + address + " within " + PING_BOUND);
    }

    /** The API's refusal of call, asserting its status. */
    static AgentClient.ApiException refused(int status, Executable call) {
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, call);
        assertEquals(status, e.status(), e.getMessage());
        return e;
    }

    /** A 5xx answer whose message names the injected fault at step. */
    static void failedAt(String step, Executable call) {
        AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, call);
        assertTrue(e.status() >= 500, "status " + e.status() + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("injected fault at " + step), e.getMessage());
    }

    /** Runs a tool in the node's namespace, failing the test when it fails. */
    String inNode(String... command) {
        return Shell.check(Shell.inNetns(node.nodeNetns(), command).toArray(String[]::new));
    }
}
