package io.vesicle.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.agent.datapath.ManualWiring;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Commands that ask a running agent over its API. */
final class ApiCommands {
    private ApiCommands() {
    }

    /** Common parts: the agent to ask, the output format, where to print. */
    abstract static class AgentQuery implements Callable<Integer> {
        @Mixin
        CliOptions.Agent agent;
        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        /** Prints a JSON tree as FIELD VALUE rows, nested members as dotted paths. */
        void printFields(JsonNode node) {
            Table table = new Table("FIELD", "VALUE");
            addFields(table, "", node);
            table.print(out());
        }

        private static void addFields(Table table, String prefix, JsonNode node) {
            if (node.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    addFields(table, prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue());
                }
            } else if (node.isArray()) {
                List<String> items = new java.util.ArrayList<>();
                node.forEach(n -> items.add(n.isValueNode() ? n.asText() : n.toString()));
                table.row(prefix, String.join(",", items));
            } else {
                table.row(prefix, node.isNull() ? null : node.asText());
            }
        }
    }

    @Command(name = "status", description = "The agent's status: node, pod CIDR, endpoints, IPAM use, datapath.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle status", "  vesicle status -o table"})
    static final class Status extends AgentQuery {
        @Mixin
        CliOptions.JsonOutput output;

        @Override
        public Integer call() {
            JsonNode status = agent.client().call("GET", ApiPaths.STATUS, null, JsonNode.class);
            if (output.json()) {
                CliOptions.printJson(out(), status);
            } else {
                printFields(status);
            }
            return 0;
        }
    }

    @Command(name = "endpoint", description = "The node's endpoints (pods' interfaces).",
            subcommands = {EndpointList.class, EndpointGet.class, EndpointDelete.class})
    static final class Endpoint extends VesicleCli.Group {
    }

    @Command(name = "list", description = "Every endpoint of the node.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle endpoint list", "  vesicle endpoint list -o json"})
    static final class EndpointList extends AgentQuery {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            List<Messages.Endpoint> endpoints = agent.client().endpoints();
            if (output.json()) {
                CliOptions.printJson(out(), endpoints);
                return 0;
            }
            Table table = new Table("ID", "HOST IF", "ADDRESS", "MAC", "IFNAME", "CONTAINER", "POD", "STATE");
            for (Messages.Endpoint e : endpoints) {
                table.row(e.id(), e.hostIf(), e.address(), e.mac(), e.ifname(), e.containerID(),
                        e.podName() == null ? null : e.podNamespace() + "/" + e.podName(), e.state());
            }
            table.print(out());
            return 0;
        }
    }

    /** An endpoint named by its attachment. */
    abstract static class EndpointByAttachment extends AgentQuery {
        @Parameters(index = "0", paramLabel = "CONTAINER_ID", description = "the container's id, as CNI names it")
        String containerID;
        @Parameters(index = "1", paramLabel = "IFNAME", description = "the interface in the container (eth0)")
        String ifname;
        @Mixin
        CliOptions.JsonOutput output;

        void print(Object answer) {
            if (output.json()) {
                CliOptions.printJson(out(), answer);
            } else {
                printFields(AgentClient.JSON.valueToTree(answer));
            }
        }
    }

    @Command(name = "get", description = "One endpoint, as the agent keeps it.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle endpoint get 4f3a9c0e21b7 eth0",
                    "  vesicle endpoint get 4f3a9c0e21b7 eth0 -o table"})
    static final class EndpointGet extends EndpointByAttachment {
        @Override
        public Integer call() {
            print(agent.client().endpoint(containerID, ifname)
                    .orElseThrow(() -> new IllegalStateException("no endpoint " + containerID + "/" + ifname)));
            return 0;
        }
    }

    @Command(name = "delete", description = "Removes an endpoint: its veth, datapath entries and address.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle endpoint delete 4f3a9c0e21b7 eth0"})
    static final class EndpointDelete extends EndpointByAttachment {
        @Override
        public Integer call() {
            print(agent.client().deleteEndpoint(containerID, ifname));
            return 0;
        }
    }

    @Command(name = "identity", description = "Security identities.", subcommands = IdentityList.class)
    static final class Identity extends VesicleCli.Group {
    }

    @Command(name = "list", description = "The identities the datapath knows: the reserved ones until policy "
            + "allocates others.", footerHeading = "%nExamples:%n", footer = {"  vesicle identity list"})
    static final class IdentityList extends AgentQuery {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            Messages.Identity[] identities = agent.client().call("GET", ApiPaths.IDENTITIES, null,
                    Messages.Identity[].class);
            if (output.json()) {
                CliOptions.printJson(out(), identities);
                return 0;
            }
            Table table = new Table("ID", "NAME", "RESERVED");
            for (Messages.Identity i : identities) {
                table.row(i.id(), i.name(), i.reserved());
            }
            table.print(out());
            return 0;
        }
    }

    @Command(name = "ipcache", description = "The ipcache: remote prefixes, their identities and nodes.",
            subcommands = IpcacheList.class)
    static final class Ipcache extends VesicleCli.Group {
    }

    @Command(name = "list", description = "Every entry of the ipcache (vsl_ipcache), by prefix.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle ipcache list", "  vesicle ipcache list -o json"})
    static final class IpcacheList extends AgentQuery {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            Messages.IpcacheEntry[] entries = agent.client().call("GET", ApiPaths.IPCACHE, null,
                    Messages.IpcacheEntry[].class);
            if (output.json()) {
                CliOptions.printJson(out(), entries);
                return 0;
            }
            Table table = new Table("PREFIX", "IDENTITY", "TUNNEL ENDPOINT", "FLAGS");
            for (Messages.IpcacheEntry e : entries) {
                table.row(e.prefix(), e.identity(), e.tunnelEndpoint(), String.join(",", e.flags()));
            }
            table.print(out());
            return 0;
        }
    }

    @Command(name = "policy", description = "Network policy.", subcommands = PolicyGet.class)
    static final class Policy extends VesicleCli.Group {
    }

    @Command(name = "get", description = "The policy the datapath enforces.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle policy get"})
    static final class PolicyGet extends AgentQuery {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            agent.client().health(); // the agent must answer, as for every command
            if (output.json()) {
                CliOptions.printJson(out(), Map.of("policies", List.of(), "enforced", false));
            } else {
                out().println("no policy yet: this agent enforces none (every endpoint may reach every other)");
                out().flush();
            }
            return 0;
        }
    }

    @Command(name = "map", description = "The datapath's BPF maps.", subcommands = {MapList.class, MapDump.class})
    static final class MapGroup extends VesicleCli.Group {
    }

    @Command(name = "list", description = "The datapath's maps as the kernel describes them, with their entries.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle map list"})
    static final class MapList extends AgentQuery {
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            Messages.MapInfo[] maps = agent.client().call("GET", ApiPaths.DATAPATH_MAPS, null, Messages.MapInfo[].class);
            if (output.json()) {
                CliOptions.printJson(out(), maps);
                return 0;
            }
            Table table = new Table("NAME", "TYPE", "ID", "KEY", "VALUE", "MAX ENTRIES", "ENTRIES", "PIN");
            for (Messages.MapInfo m : maps) {
                table.row(m.name(), m.type(), m.id(), m.keySize(), m.valueSize(), m.maxEntries(),
                        m.entries() < 0 ? null : m.entries(), m.pin());
            }
            table.print(out());
            return 0;
        }
    }

    @Command(name = "dump", description = "One map's entries, decoded.",
            footerHeading = "%nExamples:%n", footer = {"  vesicle map dump vsl_endpoints",
                    "  vesicle map dump vsl_ipcache -o json"})
    static final class MapDump extends AgentQuery {
        @Parameters(index = "0", paramLabel = "NAME", description = "the map (see 'vesicle map list')")
        String name;
        @Mixin
        CliOptions.Output output;

        @Override
        public Integer call() {
            JsonNode entries = agent.client().call("GET", ApiPaths.DATAPATH_MAPS + "/" + name, null, JsonNode.class);
            if (output.json()) {
                CliOptions.printJson(out(), entries);
                return 0;
            }
            Table table = new Table("KEY", "VALUE");
            for (JsonNode e : entries) {
                table.row(text(e.path("key")), text(e.path("value")));
            }
            table.print(out());
            return 0;
        }

        /** A key or value on one line: scalars as they are, objects as name=value pairs. */
        private static String text(JsonNode node) {
            if (!node.isObject()) {
                return node.isValueNode() ? node.asText() : node.toString();
            }
            List<String> parts = new java.util.ArrayList<>();
            node.fields().forEachRemaining(f -> parts.add(f.getKey() + "=" + (f.getValue().isValueNode()
                    ? f.getValue().asText() : f.getValue().toString())));
            return String.join(" ", parts);
        }
    }

    @Command(name = "metrics", description = {"The datapath's counters.", "Packets and bytes by reason and "
            + "direction, summed over CPUs."}, footerHeading = "%nExamples:%n", footer = {"  vesicle metrics",
                    "  vesicle metrics -o json", "  vesicle metrics --pin-root /sys/fs/bpf/vesicle   # no agent needed"})
    static final class Metrics extends AgentQuery {
        @Mixin
        CliOptions.Output output;
        @Option(names = "--pin-root", paramLabel = "DIR", description = "read the maps pinned there instead of "
                + "asking the agent (works while it is down)")
        Path pinRoot;

        @Override
        public Integer call() {
            List<Messages.Counter> counters = pinRoot == null
                    ? List.of(agent.client().call("GET", ApiPaths.DATAPATH_METRICS, null, Messages.Counter[].class))
                    : ManualWiring.counters(pinRoot).stream().map(c -> new Messages.Counter(c.reason(), c.direction(),
                            c.drop(), c.packets(), c.bytes())).toList();
            if (output.json()) {
                CliOptions.printJson(out(), counters);
                return 0;
            }
            Table table = new Table("REASON", "DIRECTION", "PACKETS", "BYTES");
            for (Messages.Counter c : counters) {
                table.row(c.reason(), c.direction(), c.packets(), c.bytes());
            }
            table.print(out());
            return 0;
        }
    }

    @Command(name = "events", description = {"Which events the datapath sends; what was read and lost.",
            "Drops, sampled traces, policy verdicts: options change the settings, live (the next packet sees "
                    + "them), and they stay through agent restarts."},
            footerHeading = "%nExamples:%n", footer = {"  vesicle events", "  vesicle events --traces on --trace-sample 100",
                    "  vesicle events --drops off"})
    static final class Events extends AgentQuery {
        @Mixin
        CliOptions.Output output;
        @Option(names = "--drops", paramLabel = "on|off", description = "drop notifications")
        OnOff drops;
        @Option(names = "--traces", paramLabel = "on|off", description = "traces of packets let through")
        OnOff traces;
        @Option(names = "--policy-verdicts", paramLabel = "on|off", description = "policy verdicts")
        OnOff policyVerdicts;
        @Option(names = "--trace-sample", paramLabel = "N", description = "trace 1 in N packets")
        Integer traceSample;

        enum OnOff { on, off }

        @Override
        public Integer call() {
            AgentClient client = agent.client();
            Messages.EventsStatus status = client.events();
            if (drops != null || traces != null || policyVerdicts != null || traceSample != null) {
                Messages.EventSettings s = status.settings();
                status = client.configureEvents(new Messages.EventSettings(
                        drops == null ? s.drops() : drops == OnOff.on, traces == null ? s.traces() : traces == OnOff.on,
                        policyVerdicts == null ? s.policyVerdicts() : policyVerdicts == OnOff.on,
                        traceSample == null ? s.traceSample() : traceSample));
            }
            if (output.json()) {
                CliOptions.printJson(out(), status);
            } else {
                printFields(AgentClient.JSON.valueToTree(status));
            }
            return 0;
        }
    }
}
