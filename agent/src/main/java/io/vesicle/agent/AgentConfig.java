package io.vesicle.agent;

import io.vesicle.cluster.Cidr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The agent's settings: defaults, then the YAML file given with {@code --config}, then flags.
 * Every key is documented in README.md (section "The agent").
 *
 * @param nodeName  this node's name (default: the host name)
 * @param podCIDR   the IPv4 prefix this node's pods get addresses from (required with the file
 *                  source; null when the cluster state assigns it)
 * @param gateway   the pods' gateway, answered by the datapath, never given to a pod (default:
 *                  the first host address of podCIDR; null until podCIDR is known)
 * @param mtu       the pods' MTU; 0: from the uplink (its MTU less 50 bytes of VXLAN in overlay
 *                  mode, its MTU in native mode; 1450 in local mode)
 * @param bpffsRoot where the datapath's maps are pinned (default /sys/fs/bpf/vesicle)
 * @param stateDir  endpoint and IPAM state (default /var/lib/vesicle)
 * @param apiSocket the local API's unix socket (default /var/run/vesicle/vesicle.sock)
 * @param apiGroup  a group (name or id) whose members may use the API besides root (default none:
 *                  root only); null when unset
 * @param network   how pods reach other nodes and the world
 * @param cluster   where the agent learns the cluster from
 * @param metricsAddress where /metrics, /healthz and /readyz are served (default 127.0.0.1:9962;
 *                  port 0: one the kernel picks)
 */
public record AgentConfig(String nodeName, Cidr podCIDR, Inet4Address gateway, int mtu, Path bpffsRoot,
                          Path stateDir, Path apiSocket, String apiGroup, Network network, Cluster cluster,
                          InetSocketAddress metricsAddress) {
    /** The pods' MTU in local mode, where no uplink is consulted: a 1500 underlay less VXLAN's 50 bytes. */
    public static final int DEFAULT_MTU = 1450;
    public static final Path DEFAULT_BPFFS_ROOT = Path.of("/sys/fs/bpf/vesicle");
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/vesicle");
    public static final Path DEFAULT_API_SOCKET = Path.of("/var/run/vesicle/vesicle.sock");
    public static final InetSocketAddress DEFAULT_METRICS_ADDRESS =
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 9962);
    public static final int MIN_MTU = 576;
    public static final int MAX_MTU = 65535;

    /** Each key of the YAML file and the flag that overrides it. */
    public enum Key {
        NODE_NAME("nodeName", "node-name"),
        POD_CIDR("podCIDR", "pod-cidr"),
        GATEWAY("gateway", "gateway"),
        MTU("mtu", "mtu"),
        BPFFS_ROOT("bpffsRoot", "bpffs-root"),
        STATE_DIR("stateDir", "state-dir"),
        API_SOCKET("apiSocket", "api-socket"),
        API_GROUP("apiGroup", "api-group"),
        ROUTING_MODE("routingMode", "routing-mode"),
        UPLINK("uplink", "uplink"),
        NODE_IP("nodeIP", "node-ip"),
        CLUSTER_CIDR("clusterCIDR", "cluster-cidr"),
        MASQUERADE("masquerade", "masquerade"),
        CLUSTER_STATE("clusterState", "cluster-state"),
        CLUSTER_FILE("clusterFile", "cluster-file", true),
        ETCD_ENDPOINTS("etcdEndpoints", "etcd-endpoints", true),
        ETCD_PREFIX("etcdPrefix", "etcd-prefix", true),
        ETCD_LEASE_TTL("etcdLeaseTTL", "etcd-lease-ttl", true),
        NODE_CIDR_MASK_SIZE("nodeCIDRMaskSize", "node-cidr-mask-size", true),
        KUBECONFIG("kubeconfig", "kubeconfig", true),
        METRICS_ADDRESS("metricsAddress", "metrics-address");

        public final String yaml;
        public final String flag;
        /** Read by the cluster state source, which checks it; handed over as written. */
        final boolean forSource;

        Key(String yaml, String flag) {
            this(yaml, flag, false);
        }

        Key(String yaml, String flag, boolean forSource) {
            this.yaml = yaml;
            this.flag = flag;
            this.forSource = forSource;
        }

        static Key ofYaml(String name) {
            for (Key key : values()) {
                if (key.yaml.equals(name)) {
                    return key;
                }
            }
            return null;
        }

        public static Key ofFlag(String name) {
            for (Key key : values()) {
                if (key.flag.equals(name)) {
                    return key;
                }
            }
            return null;
        }
    }

    /** A setting that cannot be used; the message names the key and where its value came from. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }

    /** How pods reach other nodes: not at all (one node), through VXLAN, or by the underlay's routes. */
    public enum Routing {
        LOCAL, OVERLAY, NATIVE;

        String yaml() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * @param routing     local (default with the file source), overlay (default otherwise) or native
     * @param uplink      the device towards other nodes; null: the device of the default route
     * @param nodeIP      this node's address on the underlay; null: the uplink's first IPv4 address
     * @param clusterCIDR the prefix all nodes' pod CIDRs lie in (never masqueraded); null: the
     *                    cluster state's, or this node's pod CIDR alone
     * @param masquerade  whether pods' traffic to the world leaves with the node's address
     */
    public record Network(Routing routing, String uplink, Inet4Address nodeIP, Cidr clusterCIDR, boolean masquerade) {
        public Network {
            Objects.requireNonNull(routing, "routing");
        }
    }

    /**
     * @param source   the clusterState kind: file, etcd or kubernetes
     * @param settings the source's own keys (and clusterCIDR, podCIDR), by YAML name, as written
     */
    public record Cluster(String source, Map<String, String> settings) {
        public Cluster {
            Objects.requireNonNull(source, "source");
            settings = Map.copyOf(settings);
        }
    }

    public static final String FILE_SOURCE = "file";

    public AgentConfig {
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(bpffsRoot, "bpffsRoot");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(apiSocket, "apiSocket");
        Objects.requireNonNull(metricsAddress, "metricsAddress");
    }

    /** A value and where it came from, for messages. */
    private record Setting(String value, String origin) {
    }

    /**
     * Reads file (null: none) and applies flags (by flag name, e.g. "pod-cidr") over it.
     *
     * @throws ConfigException naming the key and the file or flag of a bad or missing value
     */
    public static AgentConfig load(Path file, Map<String, String> flags) {
        Map<Key, Setting> settings = new LinkedHashMap<>();
        if (file != null) {
            settings.putAll(readYaml(file));
        }
        for (Map.Entry<String, String> flag : flags.entrySet()) {
            Key key = Key.ofFlag(flag.getKey());
            if (key == null) {
                throw new ConfigException("unknown flag --" + flag.getKey());
            }
            settings.put(key, new Setting(flag.getValue(), "flag --" + key.flag
                    + (file == null ? " (key " + key.yaml + ")" : " (overriding key " + key.yaml + " of " + file + ")")));
        }
        return resolve(settings, file);
    }

    private static Map<Key, Setting> readYaml(Path file) {
        JsonNode root;
        try {
            root = new YAMLMapper().readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + firstLine(e.getMessage()));
        }
        Map<Key, Setting> settings = new LinkedHashMap<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return settings; // an empty file: every default
        }
        if (!root.isObject()) {
            throw new ConfigException("config file " + file + " must be a mapping of keys to values, not a "
                    + root.getNodeType().name().toLowerCase());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            Key key = Key.ofYaml(field.getKey());
            String origin = "key " + field.getKey() + " in " + file;
            if (key == null) {
                throw new ConfigException("unknown " + origin + " (known keys: " + String.join(", ",
                        List.of(Key.values()).stream().map(k -> k.yaml).toList()) + ")");
            }
            JsonNode value = field.getValue();
            if (value.isNull()) {
                continue; // "gateway:" with nothing: the default
            }
            if (!value.isValueNode()) {
                throw new ConfigException(origin + " must be a single value, not a "
                        + value.getNodeType().name().toLowerCase());
            }
            settings.put(key, new Setting(value.asText(), origin));
        }
        return settings;
    }

    private static AgentConfig resolve(Map<Key, Setting> settings, Path file) {
        String nodeName = text(settings, Key.NODE_NAME, defaultNodeName());
        String source = settings.containsKey(Key.CLUSTER_STATE)
                ? settings.get(Key.CLUSTER_STATE).value().strip() : FILE_SOURCE;
        if (!source.matches("[a-z][a-z0-9-]{0,31}")) {
            throw bad(settings.get(Key.CLUSTER_STATE), Key.CLUSTER_STATE, "'" + source
                    + "' is not a cluster state source (file, etcd or kubernetes)");
        }
        Setting cidrSetting = settings.get(Key.POD_CIDR);
        if (cidrSetting == null && source.equals(FILE_SOURCE)) {
            throw new ConfigException("key " + Key.POD_CIDR.yaml + " is required with the file cluster state"
                    + (file == null ? "" : ": " + file + " has none") + " (or give --" + Key.POD_CIDR.flag + ")");
        }
        Cidr podCIDR = cidrSetting == null ? null : podCidr(cidrSetting);
        Inet4Address gateway = podCIDR == null ? null : podCIDR.address(1);
        Setting gatewaySetting = settings.get(Key.GATEWAY);
        if (gatewaySetting != null) {
            if (podCIDR == null) {
                throw bad(gatewaySetting, Key.GATEWAY, "a gateway needs a podCIDR; with the cluster state assigning"
                        + " the pod CIDR, the gateway is its first address");
            }
            gateway = parse(gatewaySetting, Key.GATEWAY, Cidr::parseAddress);
            checkGateway(podCIDR, gateway, gatewaySetting);
        }
        int mtu = 0;
        Setting mtuSetting = settings.get(Key.MTU);
        if (mtuSetting != null) {
            mtu = parse(mtuSetting, Key.MTU, Integer::parseInt);
            if (mtu < MIN_MTU || mtu > MAX_MTU) {
                throw bad(mtuSetting, Key.MTU, mtu + " is not within " + MIN_MTU + ".." + MAX_MTU);
            }
        }
        Path apiSocket = path(settings, Key.API_SOCKET, DEFAULT_API_SOCKET);
        if (!fitsUnixSocket(apiSocket)) {
            throw bad(settings.get(Key.API_SOCKET), Key.API_SOCKET, "'" + apiSocket + "' is too long for a unix"
                    + " socket (the kernel takes " + MAX_SOCKET_PATH + " bytes; the agent also binds a temporary"
                    + " name of up to " + TMP_SOCKET_NAME + " bytes in the same directory)");
        }
        Network network = network(settings, source, podCIDR);
        if (network.routing() == Routing.LOCAL && mtu == 0) {
            mtu = DEFAULT_MTU;
        }
        Map<String, String> sourceSettings = new LinkedHashMap<>();
        for (Map.Entry<Key, Setting> e : settings.entrySet()) {
            if (e.getKey().forSource || e.getKey() == Key.POD_CIDR || e.getKey() == Key.CLUSTER_CIDR) {
                sourceSettings.put(e.getKey().yaml, e.getValue().value().strip());
            }
        }
        return new AgentConfig(nodeName, podCIDR, gateway, mtu,
                path(settings, Key.BPFFS_ROOT, DEFAULT_BPFFS_ROOT),
                path(settings, Key.STATE_DIR, DEFAULT_STATE_DIR),
                apiSocket, group(settings.get(Key.API_GROUP)), network, new Cluster(source, sourceSettings),
                socketAddress(settings.get(Key.METRICS_ADDRESS)));
    }

    private static Cidr podCidr(Setting setting) {
        Cidr podCIDR = parse(setting, Key.POD_CIDR, Cidr::parse);
        if (podCIDR.prefixLength() > 30) {
            throw bad(setting, Key.POD_CIDR, "a /" + podCIDR.prefixLength()
                    + " leaves no address for pods besides the gateway; use /30 or shorter");
        }
        if (podCIDR.prefixLength() < 8) {
            throw bad(setting, Key.POD_CIDR, "a /" + podCIDR.prefixLength() + " is too large for one node; use /8 or longer");
        }
        return podCIDR;
    }

    private static void checkGateway(Cidr podCIDR, Inet4Address gateway, Setting setting) {
        if (!podCIDR.contains(gateway)) {
            throw bad(setting, Key.GATEWAY, gateway.getHostAddress() + " is outside podCIDR " + podCIDR);
        }
        if (gateway.equals(podCIDR.network()) || gateway.equals(podCIDR.broadcast())) {
            throw bad(setting, Key.GATEWAY, gateway.getHostAddress() + " is the network or broadcast address of " + podCIDR);
        }
    }

    private static Network network(Map<Key, Setting> settings, String source, Cidr podCIDR) {
        Routing routing = source.equals(FILE_SOURCE) ? Routing.LOCAL : Routing.OVERLAY;
        Setting mode = settings.get(Key.ROUTING_MODE);
        if (mode != null) {
            String value = mode.value().strip();
            routing = java.util.Arrays.stream(Routing.values()).filter(r -> r.yaml().equals(value)).findFirst()
                    .orElseThrow(() -> bad(mode, Key.ROUTING_MODE, "'" + value + "' is not local, overlay or native"));
        }
        String uplink = null;
        Setting uplinkSetting = settings.get(Key.UPLINK);
        if (uplinkSetting != null) {
            uplink = uplinkSetting.value().strip();
            // Stricter than the kernel: the name also goes into the nftables rule, quoted.
            if (!uplink.matches("[A-Za-z0-9._@-]{1,15}")) {
                throw bad(uplinkSetting, Key.UPLINK, "'" + uplinkSetting.value() + "' is not an interface name"
                        + " (1 to 15 of letters, digits, '.', '_', '@', '-')");
            }
        }
        Inet4Address nodeIP = settings.containsKey(Key.NODE_IP)
                ? parse(settings.get(Key.NODE_IP), Key.NODE_IP, Cidr::parseAddress) : null;
        Cidr clusterCIDR = settings.containsKey(Key.CLUSTER_CIDR)
                ? parse(settings.get(Key.CLUSTER_CIDR), Key.CLUSTER_CIDR, Cidr::parse) : null;
        if (clusterCIDR != null && podCIDR != null
                && (clusterCIDR.prefixLength() > podCIDR.prefixLength() || !clusterCIDR.contains(podCIDR.network()))) {
            throw bad(settings.get(Key.CLUSTER_CIDR), Key.CLUSTER_CIDR, "podCIDR " + podCIDR + " is not inside " + clusterCIDR);
        }
        boolean masquerade = true;
        Setting masq = settings.get(Key.MASQUERADE);
        if (masq != null) {
            String value = masq.value().strip();
            if (!value.equals("true") && !value.equals("false")) {
                throw bad(masq, Key.MASQUERADE, "'" + value + "' is not true or false");
            }
            masquerade = Boolean.parseBoolean(value);
        }
        return new Network(routing, uplink, nodeIP, clusterCIDR, masquerade);
    }

    /**
     * host:port with an IP address (IPv6 in brackets) and a port 0..65535; no name is resolved,
     * so the agent never waits on DNS to start.
     */
    private static InetSocketAddress socketAddress(Setting setting) {
        if (setting == null) {
            return DEFAULT_METRICS_ADDRESS;
        }
        String text = setting.value().strip();
        int colon = text.lastIndexOf(':');
        String why = "'" + setting.value() + "' is not host:port with an IP address (IPv6 in brackets) and a port"
                + " 0..65535, e.g. 127.0.0.1:9962 or [::1]:9962";
        if (colon <= 0) {
            throw bad(setting, Key.METRICS_ADDRESS, why);
        }
        String host = text.substring(0, colon);
        String port = text.substring(colon + 1);
        boolean v6 = host.startsWith("[") && host.endsWith("]") && host.length() > 2
                && host.substring(1, host.length() - 1).matches("[0-9A-Fa-f:.]+");
        boolean v4 = host.matches("\\d{1,3}(\\.\\d{1,3}){3}")
                && java.util.Arrays.stream(host.split("\\.")).allMatch(octet -> Integer.parseInt(octet) <= 255);
        if (!(v4 || v6) || !port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
            throw bad(setting, Key.METRICS_ADDRESS, why);
        }
        try {
            // Only literals get here (digits, dots, and hex digits and colons in brackets): parsed, never looked up.
            return new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(port));
        } catch (IOException e) {
            throw bad(setting, Key.METRICS_ADDRESS, why);
        }
    }

    /** An existing group's name or id, as given. */
    private static String group(Setting setting) {
        if (setting == null) {
            return null;
        }
        String group = setting.value().strip();
        try {
            FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (UserPrincipalNotFoundException e) {
            throw bad(setting, Key.API_GROUP, "there is no group '" + group + "'");
        } catch (IOException e) {
            throw bad(setting, Key.API_GROUP, "cannot look up the group '" + group + "': " + e.getMessage());
        }
        return group;
    }

    /** sun_path holds 108 bytes with the terminating NUL. */
    static final int MAX_SOCKET_PATH = 107;
    /** ".<pid>/s", the private name the socket is bound under (see ApiServer): pids have at most 7 digits. */
    static final int TMP_SOCKET_NAME = 13;

    static boolean fitsUnixSocket(Path socket) {
        int dir = socket.getParent().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        int name = socket.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        return dir + 1 + Math.max(name, TMP_SOCKET_NAME) <= MAX_SOCKET_PATH;
    }

    private static String text(Map<Key, Setting> settings, Key key, String fallback) {
        Setting setting = settings.get(key);
        if (setting == null) {
            return fallback;
        }
        String value = setting.value().strip();
        if (value.isEmpty() || value.length() > 253 || value.chars().anyMatch(c -> c == '/' || Character.isWhitespace(c)
                || Character.isISOControl(c))) {
            throw bad(setting, key, "'" + setting.value() + "' is not a node name (1 to 253 characters, no '/' or spaces)");
        }
        return value;
    }

    private static Path path(Map<Key, Setting> settings, Key key, Path fallback) {
        Setting setting = settings.get(key);
        if (setting == null) {
            return fallback;
        }
        if (!setting.value().startsWith("/") || setting.value().contains("\0")) {
            throw bad(setting, key, "'" + setting.value() + "' is not an absolute path");
        }
        Path path = Path.of(setting.value()).normalize();
        if (path.getParent() == null) {
            throw bad(setting, key, "'/' cannot be used");
        }
        return path;
    }

    private interface Parser<T> {
        T parse(String text);
    }

    private static <T> T parse(Setting setting, Key key, Parser<T> parser) {
        try {
            return parser.parse(setting.value().strip());
        } catch (NumberFormatException e) {
            throw bad(setting, key, "'" + setting.value() + "' is not a whole number");
        } catch (IllegalArgumentException e) {
            throw bad(setting, key, e.getMessage());
        }
    }

    private static ConfigException bad(Setting setting, Key key, String why) {
        return new ConfigException("bad " + setting.origin() + ": " + why);
    }

    /** The kernel's host name (of our UTS namespace): no name resolution. */
    static String defaultNodeName() {
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!name.isEmpty()) {
                return name;
            }
        } catch (IOException e) {
            // fall through
        }
        return "localhost";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
