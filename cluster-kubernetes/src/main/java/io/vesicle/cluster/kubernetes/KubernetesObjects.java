package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.NamespaceInfo;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns the API's Nodes, Pods and Namespaces into the cluster module's records. Vesicle is IPv4
 * only: of a dual-stack object's addresses and prefixes the IPv4 one is taken, IPv6 ones are
 * skipped; an IPv4-looking value that does not parse makes the object malformed.
 */
final class KubernetesObjects {
    /** Pods in these phases have stopped; the CNI plugin released their addresses for reuse. */
    private static final List<String> FINISHED_PHASES = List.of("Succeeded", "Failed");

    /**
     * The fields the conversions below read: the informers' caches keep only these (and the key and
     * resourceVersion) of each object, not whole Pods and Nodes (a Node's status lists its images).
     */
    static final String[] NODE_FIELDS = {"spec.podCIDR", "spec.podCIDRs", "status.addresses"};
    static final String[] POD_FIELDS = {"metadata.labels", "spec.nodeName", "spec.hostNetwork", "status.phase",
        "status.podIP", "status.podIPs"};
    static final String[] NAMESPACE_FIELDS = {"metadata.labels"};

    private KubernetesObjects() {
    }

    /** An object the source refuses: the reason names the field. */
    static final class MalformedObjectException extends Exception {
        MalformedObjectException(String reason) {
            super(reason);
        }
    }

    /**
     * "Node/n2", "Pod/ns/name", "Namespace/name": an event's origin, and the key the source tracks
     * the object by (kind given by the caller: list items need not carry theirs).
     */
    static String origin(String kind, HasMetadata object) {
        String namespace = object.getMetadata().getNamespace();
        return kind + (namespace == null || namespace.isEmpty() ? "" : "/" + namespace)
                + "/" + object.getMetadata().getName();
    }

    static NodeInfo node(Node node) throws MalformedObjectException {
        return new NodeInfo(node.getMetadata().getName(), internalIP(node), podCIDR(node));
    }

    /** The node's IPv4 InternalIP from status.addresses. */
    static Inet4Address internalIP(Node node) throws MalformedObjectException {
        List<String> candidates = new ArrayList<>();
        if (node.getStatus() != null && node.getStatus().getAddresses() != null) {
            for (NodeAddress address : node.getStatus().getAddresses()) {
                if ("InternalIP".equals(address.getType()) && address.getAddress() != null) {
                    candidates.add(address.getAddress());
                }
            }
        }
        Optional<Inet4Address> ip = firstIPv4Address(candidates, "status.addresses[InternalIP]");
        if (ip.isEmpty()) {
            throw new MalformedObjectException("no IPv4 InternalIP in status.addresses");
        }
        return ip.get();
    }

    /** The node's IPv4 pod CIDR (spec.podCIDRs, else spec.podCIDR), or null when none is assigned yet. */
    static Cidr podCIDR(Node node) throws MalformedObjectException {
        NodeSpec spec = node.getSpec();
        if (spec == null) {
            return null;
        }
        List<String> candidates = spec.getPodCIDRs() != null && !spec.getPodCIDRs().isEmpty()
                ? spec.getPodCIDRs()
                : spec.getPodCIDR() == null ? List.of() : List.of(spec.getPodCIDR());
        for (String candidate : candidates) {
            if (candidate != null && !candidate.contains(":")) {
                try {
                    return Cidr.parse(candidate.strip());
                } catch (IllegalArgumentException e) {
                    throw new MalformedObjectException("spec.podCIDR: " + e.getMessage());
                }
            }
        }
        return null;
    }

    /**
     * The pod as other nodes route to it, or empty when it has nothing to route to: not scheduled,
     * no address yet, on the host's network (its address is its node's), or finished.
     */
    static Optional<PodInfo> pod(Pod pod) throws MalformedObjectException {
        PodStatus status = pod.getStatus();
        String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
        if (status == null || nodeName == null || nodeName.isEmpty()
                || (pod.getSpec().getHostNetwork() != null && pod.getSpec().getHostNetwork())
                || FINISHED_PHASES.contains(status.getPhase())) {
            return Optional.empty();
        }
        List<String> candidates = new ArrayList<>();
        if (status.getPodIPs() != null) {
            status.getPodIPs().stream().map(PodIP::getIp).forEach(candidates::add);
        }
        if (candidates.isEmpty() && status.getPodIP() != null && !status.getPodIP().isEmpty()) {
            candidates.add(status.getPodIP());
        }
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        Optional<Inet4Address> ip = firstIPv4Address(candidates, "status.podIP");
        if (ip.isEmpty()) {
            throw new MalformedObjectException("no IPv4 address in status.podIPs " + candidates);
        }
        return Optional.of(new PodInfo(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), ip.get(),
                nodeName, pod.getMetadata().getLabels()));
    }

    static NamespaceInfo namespace(Namespace namespace) {
        return new NamespaceInfo(namespace.getMetadata().getName(), namespace.getMetadata().getLabels());
    }

    private static Optional<Inet4Address> firstIPv4Address(List<String> candidates, String field)
            throws MalformedObjectException {
        for (String candidate : candidates) {
            if (candidate != null && !candidate.contains(":")) {
                try {
                    return Optional.of(Cidr.parseAddress(candidate.strip()));
                } catch (IllegalArgumentException e) {
                    throw new MalformedObjectException(field + ": " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }
}
