package io.vesicle.cni;

import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The plugin configuration on stdin (SPEC.md section 1 and 3), checked: an empty or undecodable
 * document is error 6, a cniVersion the plugin does not speak error 1, a missing or mistyped
 * member error 7 naming it. prevResult and the GC list are read only by the commands that use
 * them.
 */
final class NetworkConfig {
    /** The spec versions this plugin accepts, oldest first. */
    static final List<String> SUPPORTED_VERSIONS = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    static final String CURRENT_VERSION = "1.1.0";

    /** ipam.type that means the agent's own IPAM (as does no ipam section at all). */
    static final String AGENT_IPAM = "vesicle";

    private final byte[] raw;
    private final Map<String, Object> json;
    private final String cniVersion;
    private final String name;
    private final String type;
    private final Path agentSocket;
    private final String ipamType;
    private final CniResult.Dns dns;

    private NetworkConfig(byte[] raw, Map<String, Object> json, String cniVersion, String name, String type,
                          Path agentSocket, String ipamType, CniResult.Dns dns) {
        this.raw = raw;
        this.json = json;
        this.cniVersion = cniVersion;
        this.name = name;
        this.type = type;
        this.agentSocket = agentSocket;
        this.ipamType = ipamType;
        this.dns = dns;
    }

    static NetworkConfig parse(byte[] stdin) throws CniError {
        String text = new String(stdin, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            throw new CniError(CniError.DECODING_FAILURE, "no network configuration on stdin",
                    "the runtime must pass the plugin's configuration as JSON on stdin");
        }
        Object document;
        try {
            document = Json.parse(text);
        } catch (Json.ParseException e) {
            throw new CniError(CniError.DECODING_FAILURE, "cannot decode the network configuration", e.getMessage());
        }
        if (!(document instanceof Map)) {
            throw new CniError(CniError.DECODING_FAILURE, "cannot decode the network configuration",
                    "expected a JSON object, got " + Json.typeName(document));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) document;

        String version = Fields.optionalString(json, "cniVersion", "");
        checkVersion(version);
        String name = Fields.requiredString(json, "name", "");
        if (!isNetworkName(name)) {
            throw Fields.invalid("name", "\"" + name + "\" must start with a letter or digit, followed by letters,"
                    + " digits, '_', '.' or '-'");
        }
        String type = Fields.requiredString(json, "type", "");

        Path socket = ApiPaths.DEFAULT_SOCKET;
        String socketPath = Fields.optionalString(json, "agentSocket", "");
        if (socketPath != null) {
            if (socketPath.isEmpty()) {
                throw Fields.invalid("agentSocket", "must not be empty");
            }
            socket = Paths.get(socketPath);
        }

        String ipamType = AGENT_IPAM;
        Map<String, Object> ipam = Fields.optionalObject(json, "ipam", "");
        if (ipam != null) {
            ipamType = Fields.requiredString(ipam, "type", "ipam");
            if (ipamType.indexOf('/') >= 0 || ipamType.indexOf('\\') >= 0 || ipamType.equals(".")
                    || ipamType.equals("..")) {
                throw Fields.invalid("ipam.type", "\"" + ipamType + "\" must be a plugin's file name, not a path");
            }
        }

        Object dnsJson = json.get("dns");
        CniResult.Dns dns = dnsJson == null ? CniResult.Dns.EMPTY : CniResult.parseDns(dnsJson, "dns");
        return new NetworkConfig(stdin, json, version, name, type, socket, ipamType, dns);
    }

    private static void checkVersion(String version) throws CniError {
        if (version != null && SUPPORTED_VERSIONS.contains(version)) {
            return;
        }
        String seen = version == null ? "absent (which means 0.1.0)" : "\"" + version + "\"";
        throw new CniError(CniError.INCOMPATIBLE_VERSION, "incompatible CNI versions",
                "config's cniVersion is " + seen + ", plugin supports " + SUPPORTED_VERSIONS);
    }

    /** The spec's network name rule: alphanumeric first, then alphanumerics, '_', '.', '-'. */
    private static boolean isNetworkName(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) {
                return false;
            }
        }
        return true;
    }

    /** True when this config's version is at least {@code version} (both supported versions). */
    boolean atLeast(String version) {
        return SUPPORTED_VERSIONS.indexOf(cniVersion) >= SUPPORTED_VERSIONS.indexOf(version);
    }

    /** The command needs a newer spec than the config speaks: error 1, as libcni's skel says it. */
    void requireVersion(String version, CniEnvironment.Command command) throws CniError {
        if (!atLeast(version)) {
            throw new CniError(CniError.INCOMPATIBLE_VERSION, "config version does not allow " + command,
                    command + " needs cniVersion " + version + " or later, the config has " + cniVersion);
        }
    }

    /** The stdin bytes as received: what a delegated plugin gets. */
    byte[] raw() {
        return raw;
    }

    Map<String, Object> json() {
        return json;
    }

    String cniVersion() {
        return cniVersion;
    }

    String name() {
        return name;
    }

    String type() {
        return type;
    }

    Path agentSocket() {
        return agentSocket;
    }

    /** ipam.type; {@link #AGENT_IPAM} when the agent allocates. */
    String ipamType() {
        return ipamType;
    }

    boolean delegatesIpam() {
        return !AGENT_IPAM.equals(ipamType);
    }

    CniResult.Dns dns() {
        return dns;
    }

    boolean hasPrevResult() {
        return json.get("prevResult") != null;
    }

    /** The previous plugin's result (any supported version), or null when the config has none. */
    CniResult prevResult() throws CniError {
        Object value = json.get("prevResult");
        return value == null ? null : CniResult.parse(value, "prevResult");
    }

    /**
     * GC's {@code cni.dev/valid-attachments} (libcni also sends it as {@code cni.dev/attachments},
     * the name an earlier draft used). Absent is error 7: an absent list must not read as "nothing
     * is valid" and remove every pod's network.
     */
    List<Messages.Attachment> validAttachments() throws CniError {
        String key = "cni.dev/valid-attachments";
        if (json.get(key) == null && json.get("cni.dev/attachments") != null) {
            key = "cni.dev/attachments";
        }
        if (json.get(key) == null) {
            throw Fields.invalid("cni.dev/valid-attachments", "is required for GC");
        }
        List<Object> list = Fields.optionalArray(json, key, "");
        List<Messages.Attachment> valid = new ArrayList<>(list.size());
        for (int n = 0; n < list.size(); n++) {
            String at = key + "[" + n + "]";
            Map<String, Object> m = Fields.object(list.get(n), at);
            valid.add(new Messages.Attachment(Fields.requiredString(m, "containerID", at),
                    Fields.requiredString(m, "ifname", at)));
        }
        return valid;
    }
}
