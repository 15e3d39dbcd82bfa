package io.vesicle.agent.datapath;

import io.vesicle.cluster.Cidr;
import java.net.Inet4Address;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * What this node's datapath knows of the rest of the cluster: the ipcache (remote pod CIDRs, pods
 * and node addresses, each with the node that hosts it), in native mode the route to each remote
 * node's pod CIDR, and the node addresses masquerading leaves alone. Every call is applied to the
 * kernel before it returns; bad input (a prefix overlapping this node's pods, this node's own
 * address) is refused with an {@link IllegalArgumentException} naming the field, changing nothing.
 */
public interface RemoteState {
    /** A remote node as the cluster state describes it. */
    record RemoteNode(String name, Inet4Address underlayIP, Cidr podCIDR) {
        public RemoteNode {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(underlayIP, "underlayIP");
            Objects.requireNonNull(podCIDR, "podCIDR");
        }
    }

    /** A pod on a remote node. */
    record RemotePod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity) {
        public RemotePod {
            Objects.requireNonNull(ip, "ip");
            Objects.requireNonNull(nodeUnderlayIP, "nodeUnderlayIP");
        }
    }

    /** One ipcache entry as the kernel holds it; {@code tunnelEndpoint} null for a prefix not behind a node. */
    record IpcacheRow(Cidr prefix, int identity, Inet4Address tunnelEndpoint, int flags) {
    }

    /**
     * Adds or replaces the node: its pod CIDR (behind its underlay address), its underlay address
     * (identity remote-node) and, in native mode, the route to its pod CIDR. A previous state of
     * the same node (another address or CIDR) is removed; the pods behind it follow a new address.
     */
    void upsertNode(String name, Inet4Address underlayIP, Cidr podCIDR);

    /** Removes the node's entries, the pods behind it and its route; nothing when it is unknown. */
    void removeNode(String name);

    /** Adds or replaces a remote pod's /32, behind its node. */
    void upsertPod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity);

    /** Removes a remote pod's /32; nothing when it is unknown. */
    void removePod(Inet4Address ip);

    /**
     * After a (re)sync: makes the kernel hold exactly these nodes and pods, removing every remote
     * entry and route of ours that is not among them (left by an earlier run, or missed while the
     * source was away).
     */
    void reconcile(Collection<RemoteNode> nodes, Collection<RemotePod> pods);

    /** The ipcache as the kernel holds it now, sorted by prefix. */
    List<IpcacheRow> ipcache();
}
