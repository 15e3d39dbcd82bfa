package io.vesicle.tests.support;

import io.vesicle.agent.Agent;
import io.vesicle.agent.AgentConfig;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The agent in the test's own JVM, for a node namespace of the test's network, so a test can
 * hand it a {@link EndpointManager.Checkpoint} that fails at a chosen step. {@link #stop()} is the
 * agent's close, which leaves the datapath in place as a crash would; starting again restores
 * from the same state directory and pins. Pods are namespaces of the network, labelled for
 * {@link NodeSnapshot}.
 */
public final class InProcessAgent implements AutoCloseable {
    private final TestNetwork network;
    private final String nodeNetns;
    private final Path pinRoot;
    private final Path stateDir;
    private final Path socket;
    private final AgentConfig config;
    private final AgentClient client;
    private final Map<String, String> pods = new LinkedHashMap<>();
    private Agent agent;

    public InProcessAgent(TestNetwork network, String podCIDR) {
        this(network, Map.of("pod-cidr", podCIDR));
    }

    /**
     * A node named n1 with these flags (by flag name, e.g. "cluster-state") over the ones placing
     * its state, pins and sockets in the network's directories.
     */
    public InProcessAgent(TestNetwork network, Map<String, String> flags) {
        this.network = network;
        this.nodeNetns = network.namespace("node");
        this.pinRoot = network.pinRoot();
        Path dir = network.tempDir("agent");
        this.stateDir = dir.resolve("state");
        this.socket = dir.resolve("api.sock");
        Map<String, String> all = new LinkedHashMap<>(Map.of("node-name", "n1", "bpffs-root", pinRoot.toString(),
                "state-dir", stateDir.toString(), "api-socket", socket.toString(),
                // Served in the test JVM's namespace, the machine's: a port of the kernel's choice.
                "metrics-address", "127.0.0.1:0"));
        all.putAll(flags);
        this.config = AgentConfig.load(null, all);
        this.client = new AgentClient(socket, Duration.ofSeconds(20));
    }

    /** Starts an agent on this node's state; when this returns it serves. */
    public Agent start(EndpointManager.Checkpoint checkpoint) {
        if (agent != null) {
            throw new IllegalStateException("an agent is already running");
        }
        agent = new Agent(config, nodeNetnsPath(), checkpoint).start();
        return agent;
    }

    public Agent start() {
        return start(EndpointManager.Checkpoint.NONE);
    }

    /** Closes the agent: handles go, programs and pins stay, no endpoint is touched. */
    public void stop() {
        if (agent != null) {
            Agent running = agent;
            agent = null;
            running.close();
        }
    }

    /** Stops and starts again with checkpoint (the restore runs through it). */
    public Agent restart(EndpointManager.Checkpoint checkpoint) {
        stop();
        return start(checkpoint);
    }

    public Agent agent() {
        return agent;
    }

    public AgentConfig config() {
        return config;
    }

    public AgentClient client() {
        return client;
    }

    public String nodeNetns() {
        return nodeNetns;
    }

    public Path nodeNetnsPath() {
        return Path.of("/var/run/netns", nodeNetns);
    }

    public Path pinRoot() {
        return pinRoot;
    }

    public Path stateDir() {
        return stateDir;
    }

    /** A pod namespace (nothing wired), part of every snapshot from now on. */
    public String pod(String name) {
        String netns = network.namespace(name);
        pods.put(name, "/var/run/netns/" + netns);
        return netns;
    }

    /** CREATE of eth0 for containerID in pod's namespace, the agent's own IPAM. */
    public Messages.Endpoint create(String containerID, String pod) {
        return client.createEndpoint(new Messages.CreateEndpoint(containerID, "eth0", "/var/run/netns/" + pod,
                "default", containerID, null, null));
    }

    /** The node and every pod namespace so far, by content. */
    public NodeSnapshot snapshot() {
        return NodeSnapshot.take(nodeNetns, pinRoot, stateDir, pods);
    }

    @Override
    public void close() {
        stop();
    }
}
