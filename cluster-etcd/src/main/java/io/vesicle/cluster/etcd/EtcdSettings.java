package io.vesicle.cluster.etcd;

import io.vesicle.cluster.Cidr;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The etcd source's settings, read from the agent config's keys by their YAML names.
 *
 * @param endpoints        etcdEndpoints: http://host:port, at least one
 * @param prefix           etcdPrefix: every key lives under it; starts with '/', no trailing '/'
 * @param leaseTTL         etcdLeaseTTL: how long a silent node stays listed (whole seconds, at least 2)
 * @param clusterCIDR      clusterCIDR: the prefix node pod CIDRs are allocated from
 * @param nodeCIDRMaskSize nodeCIDRMaskSize: the prefix length of each node's pod CIDR
 */
public record EtcdSettings(List<URI> endpoints, String prefix, Duration leaseTTL, Cidr clusterCIDR,
                           int nodeCIDRMaskSize) {
    public static final String ENDPOINTS = "etcdEndpoints";
    public static final String PREFIX = "etcdPrefix";
    public static final String LEASE_TTL = "etcdLeaseTTL";
    public static final String CLUSTER_CIDR = "clusterCIDR";
    public static final String NODE_CIDR_MASK_SIZE = "nodeCIDRMaskSize";

    static final String DEFAULT_PREFIX = "/vesicle";
    static final int DEFAULT_LEASE_TTL_SECONDS = 10;
    /** etcd itself grants no lease shorter than its election timeout allows (2 s with its defaults). */
    static final int MIN_LEASE_TTL_SECONDS = 2;
    static final int DEFAULT_NODE_CIDR_MASK_SIZE = 24;
    /** A /31 or /32 leaves no address for a pod besides the gateway. */
    static final int MAX_NODE_CIDR_MASK_SIZE = 30;

    public EtcdSettings {
        endpoints = List.copyOf(endpoints);
    }

    /** @throws IllegalArgumentException naming the key of a bad or missing setting */
    public static EtcdSettings parse(Map<String, String> settings) {
        List<URI> endpoints = parseEndpoints(required(settings, ENDPOINTS));
        String prefix = parsePrefix(settings.getOrDefault(PREFIX, DEFAULT_PREFIX));
        int ttl = parseInt(settings, LEASE_TTL, DEFAULT_LEASE_TTL_SECONDS);
        if (ttl < MIN_LEASE_TTL_SECONDS) {
            throw bad(LEASE_TTL, ttl + " is below the minimum of " + MIN_LEASE_TTL_SECONDS + " seconds");
        }
        String clusterCIDRText = required(settings, CLUSTER_CIDR);
        Cidr clusterCIDR;
        try {
            clusterCIDR = Cidr.parse(clusterCIDRText);
        } catch (IllegalArgumentException e) {
            throw bad(CLUSTER_CIDR, e.getMessage());
        }
        int maskSize = parseInt(settings, NODE_CIDR_MASK_SIZE, DEFAULT_NODE_CIDR_MASK_SIZE);
        if (maskSize < clusterCIDR.prefixLength() || maskSize > MAX_NODE_CIDR_MASK_SIZE) {
            throw bad(NODE_CIDR_MASK_SIZE, maskSize + " is not within " + clusterCIDR.prefixLength()
                    + ".." + MAX_NODE_CIDR_MASK_SIZE + " (the clusterCIDR " + clusterCIDR + " is split into node CIDRs)");
        }
        return new EtcdSettings(endpoints, prefix, Duration.ofSeconds(ttl), clusterCIDR, maskSize);
    }

    private static List<URI> parseEndpoints(String text) {
        List<URI> endpoints = new ArrayList<>();
        for (String part : text.split(",")) {
            String endpoint = part.trim();
            URI uri;
            try {
                uri = new URI(endpoint);
            } catch (URISyntaxException e) {
                throw bad(ENDPOINTS, "'" + endpoint + "' is not a URL: " + e.getMessage());
            }
            // TLS (https) needs certificates this source has no settings for yet.
            boolean plain = "http".equals(uri.getScheme()) && uri.getHost() != null && uri.getPort() > 0
                    && (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/"))
                    && uri.getQuery() == null && uri.getUserInfo() == null;
            if (!plain) {
                throw bad(ENDPOINTS, "'" + endpoint + "' is not of the form http://host:port");
            }
            endpoints.add(uri);
        }
        return endpoints;
    }

    private static String parsePrefix(String text) {
        String prefix = text.trim();
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (!prefix.startsWith("/") || prefix.length() < 2 || !prefix.matches("[A-Za-z0-9/._-]+")
                || prefix.contains("//")) {
            throw bad(PREFIX, "'" + text + "' is not a key prefix such as /vesicle (letters, digits, / . _ -)");
        }
        return prefix;
    }

    private static int parseInt(Map<String, String> settings, String key, int defaultValue) {
        String text = settings.get(key);
        if (text == null || text.isBlank()) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw bad(key, "'" + text + "' is not a whole number");
        }
    }

    private static String required(Map<String, String> settings, String key) {
        String value = settings.get(key);
        if (value == null || value.isBlank()) {
            throw bad(key, "is required for clusterState etcd");
        }
        return value.trim();
    }

    private static IllegalArgumentException bad(String key, String reason) {
        return new IllegalArgumentException(key + ": " + reason);
    }
}
