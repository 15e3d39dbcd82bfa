package io.vesicle.agent.cluster;

import io.vesicle.cluster.Cidr;
import java.net.Inet4Address;
import java.util.Map;

/**
 * Where accepted remote state goes: the datapath's ipcache and routes. A port of this package's
 * own so the rules of {@link ClusterSync} are tested without a kernel.
 */
public interface RemoteTarget {
    void upsertNode(String name, Inet4Address underlayIP, Cidr podCIDR);

    /** Removes the node's entries and routes (its pods' entries are removed one by one before). */
    void removeNode(String name);

    void upsertPod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity);

    void removePod(Inet4Address ip);

    /**
     * Makes the kernel hold exactly these (after a listing): what is ours and absent goes.
     *
     * @param nodes by name
     * @param pods  pod address to the underlay address of its node
     */
    void reconcile(Map<String, RemoteNode> nodes, Map<Inet4Address, Inet4Address> pods, int podIdentity);

    record RemoteNode(String name, Inet4Address underlayIP, Cidr podCIDR) {
    }
}
