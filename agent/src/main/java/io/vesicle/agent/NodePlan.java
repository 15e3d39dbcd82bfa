package io.vesicle.agent;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.NodeNetwork;
import io.vesicle.agent.datapath.RoutingMode;
import io.vesicle.agent.datapath.Uplink;
import io.vesicle.cluster.Cidr;
import io.vesicle.agent.cluster.AssignmentMemory;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.LocalNode;
import io.vesicle.cluster.NodeAssignment;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this node runs with, settled at start from the config, the node's own netlink state (the
 * uplink, its address and MTU) and the cluster's assignment (the pod CIDR): the config's explicit
 * values win, and one contradicting the cluster is refused rather than silently overridden.
 *
 * @param network     null in local mode (one node, no node devices)
 * @param clusterCIDR never masqueraded: the configured one, the cluster's, or this node's pod CIDR
 */
record NodePlan(Cidr podCIDR, Inet4Address gateway, int mtu, Cidr clusterCIDR, NodeNetwork network,
                LocalNode self, boolean joined) {
    private static final Logger LOG = LoggerFactory.getLogger(NodePlan.class);

    /**
     * @return the plan; {@code joined} false when the store could not be reached and the
     *         assignment remembered from an earlier start is used (join again later)
     */
    static NodePlan make(AgentConfig config, Path nodeNetns, ClusterState cluster) {
        AgentConfig.Network net = config.network();
        Uplink uplink = null;
        Inet4Address nodeIP = net.nodeIP();
        if (net.routing() != AgentConfig.Routing.LOCAL) {
            uplink = Datapath.findUplink(nodeNetns, net.uplink());
            if (nodeIP == null) {
                nodeIP = uplink.address();
            }
        }
        LocalNode self = new LocalNode(config.nodeName(), nodeIP);
        AssignmentMemory memory = new AssignmentMemory(config.stateDir(), config.cluster().source());
        NodeAssignment assignment;
        boolean joined = true;
        try {
            assignment = memory.recall().isPresent() ? cluster.join(self) : joinPatiently(cluster, self);
            memory.remember(assignment);
        } catch (ClusterStateException e) {
            assignment = memory.recall().orElseThrow(() -> e);
            joined = false;
            LOG.warn("cannot join the cluster ({}); starting with the pod CIDR {} it assigned this node before,"
                    + " and joining again in the background", e.getMessage(), assignment.podCIDR());
        }
        Cidr podCIDR = config.podCIDR() == null ? assignment.podCIDR() : config.podCIDR();
        if (!podCIDR.equals(assignment.podCIDR())) {
            throw new AgentConfig.ConfigException("podCIDR " + config.podCIDR() + " is configured, but the cluster state ("
                    + config.cluster().source() + ") assigns this node " + assignment.podCIDR()
                    + "; remove podCIDR from the config or correct the store");
        }
        Inet4Address gateway = config.gateway() == null ? podCIDR.address(1) : config.gateway();
        Cidr clusterCIDR = net.clusterCIDR() != null ? net.clusterCIDR()
                : assignment.clusterCIDR() != null ? assignment.clusterCIDR() : podCIDR;
        if (net.clusterCIDR() != null && assignment.clusterCIDR() != null && !net.clusterCIDR().equals(assignment.clusterCIDR())) {
            throw new AgentConfig.ConfigException("clusterCIDR " + net.clusterCIDR() + " is configured, but the cluster"
                    + " state (" + config.cluster().source() + ") has " + assignment.clusterCIDR());
        }
        int mtu = config.mtu();
        NodeNetwork network = null;
        if (uplink != null) {
            RoutingMode mode = net.routing() == AgentConfig.Routing.OVERLAY ? RoutingMode.OVERLAY : RoutingMode.NATIVE;
            try {
                network = new NodeNetwork(mode, uplink, nodeIP, podCIDR, List.of(clusterCIDR), net.masquerade());
            } catch (IllegalArgumentException e) {
                throw new AgentConfig.ConfigException(e.getMessage());
            }
            if (mtu == 0) {
                mtu = network.podMtu();
            }
        }
        return new NodePlan(podCIDR, gateway, mtu, clusterCIDR, network, self, joined);
    }

    /** How long a node with no remembered assignment tries to join before it gives up. */
    static final long FIRST_JOIN_MILLIS = 60_000;

    /**
     * Joins, trying again for a while: a node's first start can meet a store that is still coming
     * up (or a slow one); without an assignment the agent can do nothing useful.
     */
    private static NodeAssignment joinPatiently(ClusterState cluster, LocalNode self) {
        long deadline = System.nanoTime() + FIRST_JOIN_MILLIS * 1_000_000;
        long delay = 500;
        while (true) {
            try {
                return cluster.join(self);
            } catch (ClusterStateException e) {
                if (System.nanoTime() + delay * 1_000_000 > deadline) {
                    throw e;
                }
                LOG.warn("cannot join the cluster yet ({}); trying again in {} ms", e.getMessage(), delay);
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                delay = Math.min(delay * 2, 5_000);
            }
        }
    }
}
