package io.vesicle.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.ManualWiring;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import java.io.PrintWriter;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Commands that drive the datapath directly, without an agent: wiring a pod by hand, and reading
 * the pinned maps.
 */
final class DatapathCommands {
    private DatapathCommands() {
    }

    abstract static class PinnedMaps implements Callable<Integer> {
        @Option(names = "--pin-root", paramLabel = "DIR", description = "where the maps are pinned (default: "
                + "${DEFAULT-VALUE})")
        Path pinRoot = DatapathConfig.DEFAULT_PIN_ROOT;
        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }
    }

    /** wire and unwire: they write maps, which must not be an agent's. */
    abstract static class Wiring extends PinnedMaps {
        @Option(names = "--node-netns", required = true, paramLabel = "PATH", description = "the node's network "
                + "namespace")
        Path nodeNetns;
        @Option(names = "--id", paramLabel = "N", description = "the endpoint id (default: ${DEFAULT-VALUE})")
        int id;
        @Option(names = "--ip", required = true, paramLabel = "IPV4", description = "the pod's address")
        String ip;
        @Option(names = "--host-if", paramLabel = "NAME", description = "the host-side veth (default: lxc<id>)")
        String hostIf;
        @Mixin
        CliOptions.Agent agent;

        String hostIf() {
            return hostIf == null ? "lxc" + id : hostIf;
        }

        /**
         * The maps under a pin root belong to the agent that loaded them: writing them behind its back
         * would leave entries it does not know (and sweeps away on its next start).
         */
        void refuseWhileAnAgentServes() {
            JsonNode status;
            try {
                status = new AgentClient(agent.socket, Duration.ofSeconds(5)).call("GET", ApiPaths.STATUS, null,
                        JsonNode.class);
            } catch (AgentClient.UnavailableException e) {
                return; // no agent answers there
            }
            String agentPins = status.path("datapath").path("pinRoot").asText("");
            if (Path.of(agentPins).normalize().equals(pinRoot.toAbsolutePath().normalize())) {
                throw new IllegalStateException("an agent serving on " + agent.socket + " owns the maps under "
                        + agentPins + "; add pods through it (the CNI plugin) instead");
            }
        }
    }

    @Command(name = "wire", description = {"Wires a pod by hand, without an agent.", "Creates a pod veth in "
            + "--pod-netns and attaches it to the datapath in --node-netns; refused while an agent serves the same "
            + "pin root."},
            footerHeading = "%nExamples:%n", footer = {"  vesicle wire --node-netns /var/run/netns/node "
                    + "--pod-netns /var/run/netns/pod1 --id 1 --ip 10.0.0.2 --gateway 10.0.0.1"})
    static final class Wire extends Wiring {
        @Option(names = "--pod-netns", required = true, paramLabel = "PATH", description = "the pod's network "
                + "namespace")
        Path podNetns;
        @Option(names = "--gateway", required = true, paramLabel = "IPV4", description = "the pods' gateway (the "
                + "ARP target answered)")
        String gateway;
        @Option(names = "--pod-if", paramLabel = "NAME", description = "the pod-side interface (default: "
                + "${DEFAULT-VALUE})")
        String podIf = "eth0";
        @Option(names = "--mtu", paramLabel = "N", description = "MTU of both ends (default: ${DEFAULT-VALUE})")
        int mtu = 1500;

        @Override
        public Integer call() {
            Inet4Address address = ipv4(ip, "ip");
            Inet4Address router = ipv4(gateway, "gateway");
            refuseWhileAnAgentServes();
            ManualWiring.Wired wired = ManualWiring.wire(nodeNetns, podNetns, pinRoot, id, address, router, hostIf(),
                    podIf, mtu);
            out().printf("endpoint %d: %s %s on %s (ifindex %d)%n", id, address.getHostAddress(), wired.mac(), hostIf(),
                    wired.hostIndex());
            out().flush();
            return 0;
        }
    }

    @Command(name = "unwire", description = "Detaches a pod's veth from the datapath and deletes it.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle unwire --node-netns /var/run/netns/node --id 1 "
                    + "--ip 10.0.0.2"})
    static final class Unwire extends Wiring {
        @Override
        public Integer call() {
            Inet4Address address = ipv4(ip, "ip");
            refuseWhileAnAgentServes();
            ManualWiring.unwire(nodeNetns, pinRoot, id, address, hostIf());
            out().printf("endpoint %d: removed%n", id);
            out().flush();
            return 0;
        }
    }

    @Command(name = "endpoints", description = "The endpoints in the pinned maps (no agent needed).",
            footerHeading = "%nExamples:%n", footer = {"  vesicle endpoints --pin-root /sys/fs/bpf/vesicle"})
    static final class Endpoints extends PinnedMaps {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            var rows = ManualWiring.endpoints(pinRoot);
            if (output.json()) {
                CliOptions.printJson(out(), rows);
                return 0;
            }
            Table table = new Table("ID", "ADDRESS", "MAC", "IFINDEX", "ROUTER MAC", "IDENTITY");
            for (ManualWiring.EndpointRow e : rows) {
                table.row(e.id(), e.address(), e.mac(), e.ifindex(), e.nodeMac(), e.identity());
            }
            table.print(out());
            return 0;
        }
    }

    static Inet4Address ipv4(String text, String option) {
        try {
            if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                throw new IllegalArgumentException();
            }
            return (Inet4Address) InetAddress.getByName(text);
        } catch (Exception e) {
            throw new VesicleCli.UsageException("option --" + option + " must be an IPv4 address, got '" + text + "'");
        }
    }
}
