package io.vesicle.agent.cli;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.Endpoint;
import io.vesicle.agent.datapath.PodInterface;
import io.vesicle.loader.NetNs;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.MetricsKey;
import io.vesicle.maps.MetricsValue;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Commands that drive the datapath directly, without an agent: wiring a pod by hand, and reading
 * the pinned maps.
 */
public final class DatapathCommands {
    private static final Set<String> WIRE = Set.of("node-netns", "pod-netns", "id", "ip", "gateway", "host-if",
            "pod-if", "mtu", "pin-root");
    private static final Set<String> UNWIRE = Set.of("node-netns", "id", "ip", "host-if", "pin-root");
    private static final Set<String> READ = Set.of("pin-root");

    private DatapathCommands() {
    }

    public static int run(String command, List<String> argv, PrintStream out) {
        if (argv.contains("--help")) {
            Set<String> options = switch (command) {
                case "wire" -> WIRE;
                case "unwire" -> UNWIRE;
                default -> READ;
            };
            out.println("usage: vesicle " + command + " --" + String.join(" --", options.stream().sorted().toList()));
            return 0;
        }
        switch (command) {
            case "wire":
                return wire(Args.parse(command, argv, WIRE), out);
            case "unwire":
                return unwire(Args.parse(command, argv, UNWIRE), out);
            case "endpoints":
                return endpoints(Args.parse(command, argv, READ), out);
            default:
                return metrics(Args.parse(command, argv, READ), out);
        }
    }

    private static Path pinRoot(Args args) {
        return Path.of(args.get("pin-root", DatapathConfig.DEFAULT_PIN_ROOT.toString()));
    }

    private static int wire(Args args, PrintStream out) {
        int id = args.getInt("id", 0);
        Inet4Address ip = ipv4(args.required("ip"), "ip");
        Inet4Address gateway = ipv4(args.required("gateway"), "gateway");
        String hostIf = args.get("host-if", "lxc" + id);
        try (NetNs node = NetNs.open(Path.of(args.required("node-netns")));
             NetNs pod = NetNs.open(Path.of(args.required("pod-netns")));
             Datapath datapath = Datapath.load(node, new DatapathConfig(pinRoot(args), gateway))) {
            Endpoint endpoint;
            PodInterface veth = PodInterface.create(node, hostIf, pod, args.get("pod-if", "eth0"), ip, gateway,
                    args.getInt("mtu", 1500), null);
            try {
                endpoint = new Endpoint(id, hostIf, ip, veth.mac(), 0);
                datapath.attach(endpoint);
            } catch (RuntimeException e) {
                PodInterface.remove(node, hostIf);
                throw e;
            }
            out.printf("endpoint %d: %s %s on %s (ifindex %d)%n", id, ip.getHostAddress(), veth.mac(), hostIf,
                    veth.hostIndex());
            return 0;
        }
    }

    private static int unwire(Args args, PrintStream out) {
        int id = args.getInt("id", 0);
        Inet4Address ip = ipv4(args.required("ip"), "ip");
        String hostIf = args.get("host-if", "lxc" + id);
        try (NetNs node = NetNs.open(Path.of(args.required("node-netns")));
             Datapath datapath = Datapath.load(node, new DatapathConfig(pinRoot(args), null))) {
            datapath.detach(id, hostIf, ip);
            PodInterface.remove(node, hostIf);
            out.printf("endpoint %d: removed%n", id);
            return 0;
        }
    }

    private static int endpoints(Args args, PrintStream out) {
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot(args))) {
            out.printf("%-6s %-15s %-17s %-8s %-17s %s%n", "ID", "ADDRESS", "MAC", "IFINDEX", "ROUTER MAC",
                    "IDENTITY");
            maps.endpoints().entries().values().stream()
                    .sorted(Comparator.comparingInt(EndpointInfo::endpointId))
                    .forEach(e -> out.printf("%-6d %-15s %-17s %-8d %-17s %d%n", e.endpointId(),
                            e.address().getHostAddress(), e.mac(), e.ifindex(), e.nodeMac(), e.identity()));
            return 0;
        }
    }

    private static int metrics(Args args, PrintStream out) {
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot(args))) {
            out.printf("%-20s %-9s %12s %14s%n", "REASON", "DIRECTION", "PACKETS", "BYTES");
            Map<MetricsKey, MetricsValue> totals = maps.metrics().totals();
            totals.entrySet().stream()
                    .sorted(Comparator.comparing((Map.Entry<MetricsKey, MetricsValue> e) -> e.getKey().reason().code())
                            .thenComparing(e -> e.getKey().direction()))
                    .forEach(e -> out.printf("%-20s %-9s %12d %14d%n", e.getKey().reason().label(),
                            e.getKey().direction().name().toLowerCase(), e.getValue().packets(),
                            e.getValue().bytes()));
            return 0;
        }
    }

    private static Inet4Address ipv4(String text, String option) {
        try {
            if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                throw new IllegalArgumentException();
            }
            return (Inet4Address) InetAddress.getByName(text);
        } catch (Exception e) {
            throw new Args.UsageException("option --" + option + " must be an IPv4 address, got '" + text + "'");
        }
    }
}
