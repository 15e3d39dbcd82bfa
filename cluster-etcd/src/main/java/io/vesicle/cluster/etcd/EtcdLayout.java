package io.vesicle.cluster.etcd;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;

import java.io.IOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where things live under the prefix, and their values:
 * <pre>
 *   config/clusterCIDR            "10.244.0.0/16"   written once, by the first node
 *   cidrs/10.244.1.0-24           "node-a"          a node's pod CIDR, never leased: a restarting node gets it back
 *   nodes/node-a                  {"name","underlayIP","podCIDR"}                     under node-a's lease
 *   pods/node-a/default/web-1     {"namespace","name","ip","nodeName","labels"}       under node-a's lease
 * </pre>
 * Values are refused (a {@link MalformedEntryException} saying why) unless every field parses and
 * the names in the value are the names in the key.
 */
final class EtcdLayout {
    private static final String CONFIG = "config/";
    private static final String CIDRS = "cidrs/";
    private static final String NODES = "nodes/";
    private static final String PODS = "pods/";
    /** Kubernetes object names (DNS subdomains), upper case tolerated; never a '/' that would shift the key. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String root;

    EtcdLayout(String prefix) {
        this.root = prefix + "/";
    }

    /** Everything this source writes or watches. */
    String root() {
        return root;
    }

    String clusterCIDRKey() {
        return root + CONFIG + "clusterCIDR";
    }

    String cidrsPrefix() {
        return root + CIDRS;
    }

    String cidrKey(Cidr cidr) {
        return cidrsPrefix() + cidr.network().getHostAddress() + "-" + cidr.prefixLength();
    }

    /** The CIDR a key under cidrs/ names, or null when it names none. */
    Cidr cidrOfKey(String key) {
        String text = key.substring(cidrsPrefix().length());
        int dash = text.lastIndexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            return Cidr.parse(text.substring(0, dash) + "/" + text.substring(dash + 1));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    String nodeKey(String name) {
        return root + NODES + name;
    }

    String podKey(String nodeName, String namespace, String name) {
        return root + PODS + nodeName + "/" + namespace + "/" + name;
    }

    /** @throws IllegalArgumentException naming field when name cannot be a key segment */
    static String checkName(String field, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(field + ": '" + name
                    + "' is not a name (letters, digits, '.', '_', '-'; starting and ending with a letter or digit)");
        }
        return name;
    }

    /** What a watched key holds. */
    sealed interface Entry {
        /** Stands for the object's identity in its kind: two keys with one identity are one object. */
        String identity();
    }

    record NodeEntry(NodeInfo node) implements Entry {
        @Override
        public String identity() {
            return "node " + node.name();
        }
    }

    record PodEntry(PodInfo pod) implements Entry {
        @Override
        public String identity() {
            return "pod " + pod.namespace() + "/" + pod.name();
        }
    }

    /**
     * The node or pod a key and value describe, or null for keys that are neither (config/, cidrs/,
     * anything else under the prefix).
     *
     * @throws MalformedEntryException saying why the value or the key cannot be used
     */
    Entry parse(String key, byte[] value) throws MalformedEntryException {
        if (!key.startsWith(root)) {
            return null;
        }
        String relative = key.substring(root.length());
        if (relative.startsWith(NODES)) {
            return new NodeEntry(parseNode(relative.substring(NODES.length()), value));
        }
        if (relative.startsWith(PODS)) {
            return new PodEntry(parsePod(relative.substring(PODS.length()), value));
        }
        return null;
    }

    private static NodeInfo parseNode(String keyName, byte[] value) throws MalformedEntryException {
        requireKeyName("node name", keyName);
        JsonNode json = parseObject(value);
        String name = text(json, "name");
        if (!name.equals(keyName)) {
            throw new MalformedEntryException("name '" + name + "' is not the key's '" + keyName + "'");
        }
        String podCIDR = text(json, "podCIDR");
        try {
            return new NodeInfo(name, address(json, "underlayIP"), Cidr.parse(podCIDR));
        } catch (IllegalArgumentException e) {
            throw new MalformedEntryException("podCIDR: " + e.getMessage());
        }
    }

    private static PodInfo parsePod(String keyPath, byte[] value) throws MalformedEntryException {
        String[] parts = keyPath.split("/", -1);
        if (parts.length != 3) {
            throw new MalformedEntryException("the key does not end in pods/<node>/<namespace>/<name>");
        }
        requireKeyName("node name", parts[0]);
        requireKeyName("namespace", parts[1]);
        requireKeyName("pod name", parts[2]);
        JsonNode json = parseObject(value);
        String[] fields = {"nodeName", "namespace", "name"};
        for (int i = 0; i < fields.length; i++) {
            String inValue = text(json, fields[i]);
            if (!inValue.equals(parts[i])) {
                throw new MalformedEntryException(fields[i] + " '" + inValue + "' is not the key's '" + parts[i] + "'");
            }
        }
        return new PodInfo(parts[1], parts[2], address(json, "ip"), parts[0], labels(json));
    }

    byte[] encode(NodeInfo node) {
        ObjectNode json = JSON.createObjectNode();
        json.put("name", node.name());
        json.put("underlayIP", node.underlayIP().getHostAddress());
        json.put("podCIDR", node.podCIDR().toString());
        return bytes(json);
    }

    byte[] encode(PodInfo pod) {
        ObjectNode json = JSON.createObjectNode();
        json.put("namespace", pod.namespace());
        json.put("name", pod.name());
        json.put("ip", pod.ip().getHostAddress());
        json.put("nodeName", pod.nodeName());
        ObjectNode labels = json.putObject("labels");
        pod.labels().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(label -> labels.put(label.getKey(), label.getValue()));
        return bytes(json);
    }

    private static byte[] bytes(ObjectNode json) {
        try {
            return JSON.writeValueAsBytes(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void requireKeyName(String what, String name) throws MalformedEntryException {
        if (!NAME.matcher(name).matches()) {
            throw new MalformedEntryException("the key's " + what + " '" + name + "' is not a name");
        }
    }

    private static JsonNode parseObject(byte[] value) throws MalformedEntryException {
        JsonNode json;
        try {
            json = JSON.readTree(value);
        } catch (IOException e) {
            throw new MalformedEntryException("not JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (json == null || !json.isObject()) {
            throw new MalformedEntryException("not a JSON object: '" + preview(value) + "'");
        }
        return json;
    }

    private static String text(JsonNode json, String field) throws MalformedEntryException {
        JsonNode node = json.get(field);
        if (node == null || !node.isTextual()) {
            throw new MalformedEntryException(field + " is " + (node == null ? "missing" : "not a string"));
        }
        return node.textValue();
    }

    private static Inet4Address address(JsonNode json, String field) throws MalformedEntryException {
        try {
            return Cidr.parseAddress(text(json, field));
        } catch (IllegalArgumentException e) {
            throw new MalformedEntryException(field + ": " + e.getMessage());
        }
    }

    private static Map<String, String> labels(JsonNode json) throws MalformedEntryException {
        JsonNode labels = json.get("labels");
        Map<String, String> result = new LinkedHashMap<>();
        if (labels == null || labels.isNull()) {
            return result;
        }
        if (!labels.isObject()) {
            throw new MalformedEntryException("labels is not an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = labels.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> label = it.next();
            if (!label.getValue().isTextual()) {
                throw new MalformedEntryException("label '" + label.getKey() + "' is not a string");
            }
            result.put(label.getKey(), label.getValue().textValue());
        }
        return result;
    }

    private static String firstLine(String message) {
        String line = message == null ? "" : message.lines().findFirst().orElse("");
        return line.length() > 120 ? line.substring(0, 120) + "..." : line;
    }

    private static String preview(byte[] value) {
        String text = new String(value, StandardCharsets.UTF_8);
        return text.length() > 60 ? text.substring(0, 60) + "..." : text;
    }

    /** Why a store entry cannot be used; the caller logs it with the key and treats the entry as absent. */
    static final class MalformedEntryException extends Exception {
        MalformedEntryException(String reason) {
            super(reason, null, false, false);
        }
    }
}
