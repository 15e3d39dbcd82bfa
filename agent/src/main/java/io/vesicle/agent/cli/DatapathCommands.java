package io.vesicle.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.ManualWiring;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Commands that drive the datapath directly, without an agent: wiring a pod by hand, and reading
 * the pinned maps.
 */
public final class DatapathCommands {
    private static final Set<String> WIRE = Set.of("node-netns", "pod-netns", "id", "ip", "gateway", "host-if",
            "pod-if", "mtu", "pin-root", "api-socket");
    private static final Set<String> UNWIRE = Set.of("node-netns", "id", "ip", "host-if", "pin-root", "api-socket");
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
        refuseWhileAnAgentServes(args);
        ManualWiring.Wired wired = ManualWiring.wire(Path.of(args.required("node-netns")),
                Path.of(args.required("pod-netns")), pinRoot(args), id, ip, gateway, hostIf, args.get("pod-if", "eth0"),
                args.getInt("mtu", 1500));
        out.printf("endpoint %d: %s %s on %s (ifindex %d)%n", id, ip.getHostAddress(), wired.mac(), hostIf,
                wired.hostIndex());
        return 0;
    }

    private static int unwire(Args args, PrintStream out) {
        int id = args.getInt("id", 0);
        Inet4Address ip = ipv4(args.required("ip"), "ip");
        refuseWhileAnAgentServes(args);
        ManualWiring.unwire(Path.of(args.required("node-netns")), pinRoot(args), id, ip,
                args.get("host-if", "lxc" + id));
        out.printf("endpoint %d: removed%n", id);
        return 0;
    }

    /**
     * The maps under a pin root belong to the agent that loaded them: writing them behind its back
     * would leave entries it does not know (and sweeps away on its next start).
     */
    private static void refuseWhileAnAgentServes(Args args) {
        Path socket = Path.of(args.get("api-socket", ApiPaths.DEFAULT_SOCKET.toString()));
        JsonNode status;
        try {
            status = new AgentClient(socket, Duration.ofSeconds(5)).call("GET", ApiPaths.STATUS, null, JsonNode.class);
        } catch (AgentClient.UnavailableException e) {
            return; // no agent answers there
        }
        String agentPins = status.path("datapath").path("pinRoot").asText("");
        if (Path.of(agentPins).normalize().equals(pinRoot(args).toAbsolutePath().normalize())) {
            throw new IllegalStateException("an agent serving on " + socket + " owns the maps under " + agentPins
                    + "; add pods through it (the CNI plugin) instead");
        }
    }

    private static int endpoints(Args args, PrintStream out) {
        out.printf("%-6s %-15s %-17s %-8s %-17s %s%n", "ID", "ADDRESS", "MAC", "IFINDEX", "ROUTER MAC", "IDENTITY");
        for (ManualWiring.EndpointRow e : ManualWiring.endpoints(pinRoot(args))) {
            out.printf("%-6d %-15s %-17s %-8d %-17s %d%n", e.id(), e.address(), e.mac(), e.ifindex(), e.nodeMac(),
                    e.identity());
        }
        return 0;
    }

    private static int metrics(Args args, PrintStream out) {
        out.printf("%-20s %-9s %12s %14s%n", "REASON", "DIRECTION", "PACKETS", "BYTES");
        for (ManualWiring.CounterRow c : ManualWiring.counters(pinRoot(args))) {
            out.printf("%-20s %-9s %12d %14d%n", c.reason(), c.direction(), c.packets(), c.bytes());
        }
        return 0;
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
