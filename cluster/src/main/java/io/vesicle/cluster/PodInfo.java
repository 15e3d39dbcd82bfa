package io.vesicle.cluster;

import java.net.Inet4Address;
import java.util.Map;
import java.util.Objects;

/**
 * A pod with an address.
 *
 * @param nodeName the node it runs on
 * @param labels   its labels (for identities, with the policy work)
 */
public record PodInfo(String namespace, String name, Inet4Address ip, String nodeName, Map<String, String> labels) {
    public PodInfo {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(ip, "ip");
        Objects.requireNonNull(nodeName, "nodeName");
        labels = Map.copyOf(labels == null ? Map.of() : labels);
    }
}
