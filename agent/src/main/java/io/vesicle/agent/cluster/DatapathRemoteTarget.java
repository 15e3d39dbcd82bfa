package io.vesicle.agent.cluster;

import io.vesicle.agent.datapath.RemoteState;
import io.vesicle.cluster.Cidr;
import java.net.Inet4Address;
import java.util.List;
import java.util.Map;

/** {@link RemoteTarget} onto the datapath's remote state. */
public final class DatapathRemoteTarget implements RemoteTarget {
    private final RemoteState remote;

    public DatapathRemoteTarget(RemoteState remote) {
        this.remote = remote;
    }

    @Override
    public void upsertNode(String name, Inet4Address underlayIP, Cidr podCIDR) {
        remote.upsertNode(name, underlayIP, podCIDR);
    }

    @Override
    public void removeNode(String name) {
        remote.removeNode(name);
    }

    @Override
    public void upsertPod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity) {
        remote.upsertPod(ip, nodeUnderlayIP, identity);
    }

    @Override
    public void removePod(Inet4Address ip) {
        remote.removePod(ip);
    }

    @Override
    public void reconcile(Map<String, RemoteNode> nodes, Map<Inet4Address, Inet4Address> pods, int podIdentity) {
        List<RemoteState.RemoteNode> remoteNodes = nodes.values().stream()
                .map(n -> new RemoteState.RemoteNode(n.name(), n.underlayIP(), n.podCIDR())).toList();
        List<RemoteState.RemotePod> remotePods = pods.entrySet().stream()
                .map(p -> new RemoteState.RemotePod(p.getKey(), p.getValue(), podIdentity)).toList();
        remote.reconcile(remoteNodes, remotePods);
    }
}
