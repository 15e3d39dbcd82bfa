package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A node as CNI sees it: a node namespace, {@code bin/vesicle agent} running for it, a container
 * runtime (libcni's behaviour) whose plugins run in it, and pod namespaces with container IDs.
 * Everything belongs to the network and goes with it.
 */
public final class CniNode {
    public static final String POD_CIDR = "10.244.1.0/24";
    public static final String GATEWAY = "10.244.1.1";
    public static final String NETWORK = "vsl";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final TestNetwork network;
    private final String netns;
    private final AgentProcess agent;
    private final CniRuntime runtime;

    private CniNode(TestNetwork network, String netns, AgentProcess agent, CniRuntime runtime) {
        this.network = network;
        this.netns = netns;
        this.agent = agent;
        this.runtime = runtime;
    }

    /** Creates the node namespace, starts its agent (healthy on return) and a runtime in it. */
    public static CniNode start(TestNetwork network, String name) {
        String netns = network.namespace(name);
        AgentProcess agent = AgentProcess.start(network, netns, POD_CIDR);
        return new CniNode(network, netns, agent, new CniRuntime(network, netns));
    }

    /** A pod: its namespace (created now) and a fresh container ID; nothing is wired yet. */
    public record Pod(String name, String netns, String containerID) {
        public String netnsPath() {
            return "/var/run/netns/" + netns;
        }

        /** The attachment of the pod's eth0 as a kubelet's runtime asks for it. */
        public CniRuntime.Attachment eth0() {
            return attachment("eth0");
        }

        public CniRuntime.Attachment attachment(String ifname) {
            return CniRuntime.Attachment.pod(containerID, netnsPath(), ifname, "default", name);
        }
    }

    public Pod pod(String name) {
        return new Pod(name, network.namespace(name), containerId());
    }

    /** 64 hex digits, like containerd's sandbox IDs. */
    public static String containerId() {
        byte[] id = new byte[32];
        RANDOM.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    // ---- network configurations

    /** Our plugin's config for this node's agent (no ipam: the agent allocates). */
    public ObjectNode vesicle() {
        ObjectNode conf = CniRuntime.JSON.createObjectNode();
        conf.put("type", "vesicle");
        conf.put("agentSocket", agent.socket().toString());
        return conf;
    }

    /** A configuration list {@code vsl} of the given version with plugins in order. */
    public static ObjectNode list(String cniVersion, JsonNode... plugins) {
        ObjectNode list = CniRuntime.JSON.createObjectNode();
        list.put("cniVersion", cniVersion);
        list.put("name", NETWORK);
        ArrayNode array = list.putArray("plugins");
        for (JsonNode plugin : plugins) {
            array.add(plugin);
        }
        return list;
    }

    /** The usual list: only our plugin, CNI 1.1.0. */
    public ObjectNode list() {
        return list("1.1.0", vesicle());
    }

    public TestNetwork network() {
        return network;
    }

    /** The node namespace's name. */
    public String netns() {
        return netns;
    }

    public AgentProcess agent() {
        return agent;
    }

    public CniRuntime runtime() {
        return runtime;
    }

    /** The address (without prefix) in an ADD result's first ips entry. */
    public static String address(JsonNode result) {
        String cidr = result.path("ips").path(0).path("address").asText();
        return cidr.substring(0, cidr.indexOf('/'));
    }
}
