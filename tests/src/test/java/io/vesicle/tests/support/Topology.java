package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A cluster in namespaces: N nodes on an underlay, one etcd, an agent per node, pods wired by
 * exec'ing bin/vesicle-cni, and an external host standing for the world.
 *
 * <pre>
 *   underlay ns:  br0 (10.77.0.250/24, etcd listens here) ── n1 ── eth0 of node 1 (10.77.0.1/24)
 *                                                         ── n2 ── eth0 of node 2 (10.77.0.2/24) ...
 *                                                         ── ext ─ eth0 of the external host (10.77.0.254/24)
 * </pre>
 *
 * Every node's default route goes via the external host (the internet gateway it stands for); the
 * external host has no default route and no route to any pod CIDR, so a pod reaches it only
 * masqueraded. Nodes forward (ip_forward=1), as real nodes do. Each agent runs in its node's
 * namespace with its own pin root, state directory and socket, against the one etcd, and is given
 * its pod CIDR by the cluster state (from {@link #CLUSTER_CIDR}). Everything carries the
 * network's unique prefix and goes on close, on success and on failure; the agents' logs are kept
 * under target/agent-logs.
 */
public final class Topology implements AutoCloseable {
    public static final String UNDERLAY_PREFIX = "10.77.0.";
    public static final String ETCD_ADDRESS = UNDERLAY_PREFIX + "250";
    public static final String EXTERNAL_ADDRESS = UNDERLAY_PREFIX + "254";
    public static final String CLUSTER_CIDR = "10.244.0.0/16";
    public static final String ETCD_PREFIX = "/vesicle";
    public static final int UNDERLAY_MTU = 1500;
    /** The uplink's name in every node namespace. */
    public static final String UPLINK = "eth0";
    private static final Duration AGENT_READY_WITHIN = Duration.ofSeconds(90);

    /** The agent's routingMode, as the config spells it. */
    public enum Mode {
        OVERLAY("overlay"), NATIVE("native");

        private final String config;

        Mode(String config) {
            this.config = config;
        }

        public String config() {
            return config;
        }
    }

    /**
     * How to build it: the routing mode, how many nodes, the agents' etcd lease TTL in seconds, and
     * whether agents run at all (without: the underlay and etcd only, to check the harness itself).
     */
    public record Options(Mode mode, int nodes, int leaseTTL, boolean agents) {
        public static Options of(Mode mode, int nodes) {
            return new Options(mode, nodes, 3, true);
        }

        /** Nodes, the underlay, the external host and etcd; no agent runs (nor can pods be wired). */
        public static Options underlayOnly(int nodes) {
            return new Options(Mode.OVERLAY, nodes, 3, false);
        }

        public Options leaseTTL(int seconds) {
            return new Options(mode, nodes, seconds, agents);
        }
    }

    private final TestNetwork network = new TestNetwork();
    private final Options options;
    private final List<Node> nodes = new ArrayList<>();
    private String underlay;
    private String external;
    private EtcdServer etcd;

    private Topology(Options options) {
        this.options = options;
    }

    /** Builds the underlay, etcd and the nodes, and starts every agent; all healthy on return. */
    public static Topology start(Options options) {
        Topology topology = new Topology(options);
        try {
            topology.build();
            return topology;
        } catch (RuntimeException | Error e) {
            topology.close();
            throw e;
        }
    }

    private void build() {
        underlay = network.namespace("ul");
        ip(underlay, "link", "add", "br0", "mtu", String.valueOf(UNDERLAY_MTU), "type", "bridge");
        ip(underlay, "addr", "add", ETCD_ADDRESS + "/24", "dev", "br0");
        ip(underlay, "link", "set", "br0", "up");
        external = network.namespace("ext");
        plug("ext", external, EXTERNAL_ADDRESS);
        etcd = EtcdServer.start(network, underlay, ETCD_ADDRESS);
        for (int i = 0; i < options.nodes(); i++) {
            Node node = createNode();
            if (options.agents()) {
                // One after another: agents starting side by side on a busy machine time out on
                // their first etcd calls, and node i gets the i-th pod CIDR.
                node.agent.awaitHealthy(AGENT_READY_WITHIN);
            }
        }
    }

    /** Adds one more node (the next index) and starts its agent; healthy on return. */
    public Node addNode() {
        Node node = createNode();
        node.agent.awaitHealthy(AGENT_READY_WITHIN);
        return node;
    }

    private synchronized Node createNode() {
        int index = nodes.size() + 1;
        String name = "node" + index;
        String netns = network.namespace("n" + index);
        String address = UNDERLAY_PREFIX + index;
        plug("n" + index, netns, address);
        ip(netns, "route", "add", "default", "via", EXTERNAL_ADDRESS);
        Shell.check(Shell.inNetns(netns, "sysctl", "-qw", "net.ipv4.ip_forward=1").toArray(String[]::new));
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("routingMode", options.mode().config());
        settings.put("uplink", UPLINK);
        settings.put("clusterState", "etcd");
        settings.put("etcdEndpoints", etcd.endpoint());
        settings.put("etcdPrefix", ETCD_PREFIX);
        settings.put("etcdLeaseTTL", String.valueOf(options.leaseTTL()));
        settings.put("clusterCIDR", CLUSTER_CIDR);
        AgentProcess agent = AgentProcess.configure(network, netns, name, settings);
        Node node = new Node(this, index, name, netns, address, agent, new CniRuntime(network, netns));
        nodes.add(node);
        if (options.agents()) {
            agent.launch();
        }
        return node;
    }

    /** A veth from the underlay's bridge (port portName) to eth0 of netns, which gets address/24. */
    private void plug(String portName, String netns, String address) {
        ip(underlay, "link", "add", portName, "mtu", String.valueOf(UNDERLAY_MTU), "type", "veth", "peer", "name",
                UPLINK, "netns", netns);
        ip(underlay, "link", "set", portName, "master", "br0", "up");
        ip(netns, "link", "set", UPLINK, "mtu", String.valueOf(UNDERLAY_MTU), "up");
        ip(netns, "addr", "add", address + "/24", "dev", UPLINK);
    }

    private static void ip(String netns, String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", netns));
        command.addAll(List.of(args));
        Shell.check(command.toArray(String[]::new));
    }

    // ---- what tests use

    public TestNetwork network() {
        return network;
    }

    public Mode mode() {
        return options.mode();
    }

    public List<Node> nodes() {
        return List.copyOf(nodes);
    }

    /** Node by its 1-based index. */
    public Node node(int index) {
        return nodes.get(index - 1);
    }

    /** The underlay's namespace (the bridge, etcd, the bridge ports n1, n2, ..., ext). */
    public String underlayNetns() {
        return underlay;
    }

    /** The external host's namespace; its address is EXTERNAL_ADDRESS. */
    public String externalNetns() {
        return external;
    }

    public EtcdServer etcd() {
        return etcd;
    }

    public EtcdClient store() {
        return etcd.client();
    }

    /** Every pod of every node, in node order. */
    public List<Pod> pods() {
        return nodes.stream().flatMap(n -> n.pods().stream()).toList();
    }

    /** Wires perNode pods on every node (named n<i>p<j>) and starts an echo server in each. */
    public void addPods(int perNode) {
        for (Node node : nodes) {
            for (int j = 1; j <= perNode; j++) {
                node.addPod("n" + node.index + "p" + (node.pods.size() + 1));
            }
        }
    }

    /**
     * Whether every node's ipcache holds every other node's pod CIDR and each of its pods (a /32),
     * all behind that node's underlay address, and no entry for its own pods; what is missing is
     * in the returned list (empty: converged).
     */
    public List<String> divergence() {
        List<String> missing = new ArrayList<>();
        for (Node node : nodes) {
            if (!node.agent.running()) {
                continue; // stopped, killed, or a topology without agents
            }
            Map<String, KernelView.IpcacheEntry> ipcache = node.ipcache();
            for (Node other : nodes) {
                if (other == node || !other.registered()) {
                    continue;
                }
                List<String> expected = new ArrayList<>();
                expected.add(other.podCIDR());
                other.pods.forEach(p -> expected.add(p.ip() + "/32"));
                for (String prefix : expected) {
                    KernelView.IpcacheEntry entry = ipcache.get(prefix);
                    if (entry == null || !entry.tunnelEndpoint().equals(other.underlayAddress)) {
                        missing.add(node.name + " lacks " + prefix + " via " + other.underlayAddress + " (has "
                                + entry + ")");
                    }
                }
            }
        }
        return missing;
    }

    /** Waits until every running node's ipcache knows every other node and pod (see divergence). */
    public void awaitConverged(Duration within) {
        List<List<String>> last = new ArrayList<>(List.of(List.of()));
        try {
            Poll.until("every node knowing every other node and pod", within, () -> {
                last.set(0, divergence());
                return last.get(0).isEmpty();
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + last.get(0), e);
        }
    }

    @Override
    public void close() {
        for (Node node : nodes) {
            node.agent.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        network.close();
    }

    /** A pod: its namespace, its container ID, the address the plugin's ADD gave it, its node. */
    public record Pod(String name, String netns, String containerID, String ip, Node node) {
        public CniRuntime.Attachment attachment() {
            return CniRuntime.Attachment.pod(containerID, "/var/run/netns/" + netns, "eth0", "default", name);
        }

        @Override
        public String toString() {
            return name + "(" + ip + " on " + node.name() + ")";
        }
    }

    /** One node: its namespace, underlay address, agent and container runtime, and its pods. */
    public static final class Node {
        private final Topology topology;
        private final int index;
        private final String name;
        private final String netns;
        private final String underlayAddress;
        private final AgentProcess agent;
        private final CniRuntime runtime;
        private final List<Pod> pods = new ArrayList<>();

        private Node(Topology topology, int index, String name, String netns, String underlayAddress,
                     AgentProcess agent, CniRuntime runtime) {
            this.topology = topology;
            this.index = index;
            this.name = name;
            this.netns = netns;
            this.underlayAddress = underlayAddress;
            this.agent = agent;
            this.runtime = runtime;
        }

        public int index() {
            return index;
        }

        public String name() {
            return name;
        }

        public String netns() {
            return netns;
        }

        public String underlayAddress() {
            return underlayAddress;
        }

        public AgentProcess agent() {
            return agent;
        }

        public CniRuntime runtime() {
            return runtime;
        }

        public synchronized List<Pod> pods() {
            return List.copyOf(pods);
        }

        /** This node's record in the store ({name, underlayIP, podCIDR}), or null when it has none. */
        public JsonNode record() {
            String json = topology.store().get(ETCD_PREFIX + "/nodes/" + name);
            if (json == null) {
                return null;
            }
            try {
                return CniRuntime.JSON.readTree(json);
            } catch (IOException e) {
                throw new IllegalStateException("node record of " + name + " is no JSON: " + json, e);
            }
        }

        public boolean registered() {
            return record() != null;
        }

        /** The pod CIDR the cluster state gave this node (from its record in the store). */
        public String podCIDR() {
            JsonNode record = Objects.requireNonNull(record(), () -> name + " has no record in the store");
            return record.path("podCIDR").asText();
        }

        /** The network configuration list a runtime on this node uses: only our plugin, CNI 1.1.0. */
        public JsonNode conflist() {
            var plugin = CniRuntime.JSON.createObjectNode();
            plugin.put("type", "vesicle");
            plugin.put("agentSocket", agent.socket().toString());
            return CniNode.list("1.1.0", plugin);
        }

        /** Creates a pod namespace, ADDs it through bin/vesicle-cni and starts its echo server. */
        public Pod addPod(String podName) {
            String podNetns = topology.network.namespace(podName);
            String containerID = CniNode.containerId();
            Pod unwired = new Pod(podName, podNetns, containerID, null, this);
            JsonNode result = runtime.add(conflist(), unwired.attachment());
            Pod pod = new Pod(podName, podNetns, containerID, CniNode.address(result), this);
            Echo.serve(topology.network, podNetns);
            synchronized (this) {
                pods.add(pod);
            }
            return pod;
        }

        /** DELs a pod through bin/vesicle-cni (its namespace stays until the topology closes). */
        public void deletePod(Pod pod) {
            runtime.del(conflist(), pod.attachment());
            synchronized (this) {
                pods.remove(pod);
            }
        }

        /** This node's ipcache as the kernel holds it. */
        public Map<String, KernelView.IpcacheEntry> ipcache() {
            return KernelView.ipcache(netns, agent.pinRoot());
        }

        /** The destinations of this node's IPv4 routes in the main table ("10.244.2.0/24", "default", ...). */
        public List<String> routeDestinations() {
            String out = Shell.check("ip", "-j", "-n", netns, "-4", "route", "show");
            try {
                List<String> dsts = new ArrayList<>();
                for (JsonNode route : CniRuntime.JSON.readTree(out)) {
                    String dst = route.path("dst").asText();
                    dsts.add(dst.contains("/") || dst.equals("default") ? dst : dst + "/32");
                }
                return dsts;
            } catch (IOException e) {
                throw new IllegalStateException("ip printed no JSON: " + out, e);
            }
        }

        /** Runs command in this node's namespace; fails on a non-zero exit. */
        public String exec(String... command) {
            return Shell.check(Shell.inNetns(netns, command).toArray(String[]::new));
        }

        /** Every pod of the topology on another node. */
        public List<Pod> remotePods() {
            return topology.pods().stream().filter(p -> p.node() != this).toList();
        }

        @Override
        public String toString() {
            return name + "(" + underlayAddress + ")";
        }
    }
}
