package io.vesicle.agent.cli;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code vesicle monitor}: the datapath's events, live, like {@code hubble observe}. */
@Command(name = "monitor", description = {"The datapath's events, live.", "Drops (always), "
        + "sampled traces and policy verdicts (when switched on with 'vesicle events'). Filters combine: an event "
        + "must match each one given; a filter given several values (repeated or comma-separated) matches any.",
        "Ends with Ctrl-C, or after --count events."},
        footerHeading = "%nExamples:%n", footer = {
                "  vesicle monitor",
                "  vesicle monitor --type drop --pod default/web-1",
                "  vesicle monitor --port 53 --verdict dropped -o json",
                "  vesicle monitor --identity 5 --count 10"})
final class MonitorCommand implements Callable<Integer> {
    @Mixin
    CliOptions.Agent agent;
    @Mixin
    CliOptions.Output output;
    @Spec
    CommandSpec spec;

    @Option(names = "--type", paramLabel = "TYPE", split = ",", description = "drop, trace or policy-verdict")
    List<String> types = new ArrayList<>();
    @Option(names = "--endpoint", paramLabel = "ID", split = ",", description = "the local endpoint sending or receiving")
    List<String> endpoints = new ArrayList<>();
    @Option(names = "--pod", paramLabel = "NAMESPACE/NAME", split = ",", description = "a pod of this node")
    List<String> pods = new ArrayList<>();
    @Option(names = "--identity", paramLabel = "ID", split = ",", description = "source or destination identity")
    List<String> identities = new ArrayList<>();
    @Option(names = "--port", paramLabel = "PORT", split = ",", description = "source or destination port")
    List<String> ports = new ArrayList<>();
    @Option(names = "--verdict", paramLabel = "VERDICT", split = ",", description = "dropped, forwarded, allowed or "
            + "denied")
    List<String> verdicts = new ArrayList<>();
    @Option(names = "--count", paramLabel = "N", description = "stop after N events")
    Long count;

    /** The filters as the API's query (the agent checks each value and names a bad one). */
    String query() {
        List<String> parameters = new ArrayList<>();
        add(parameters, "type", types);
        add(parameters, "endpoint", endpoints);
        add(parameters, "pod", pods);
        add(parameters, "identity", identities);
        add(parameters, "port", ports);
        add(parameters, "verdict", verdicts);
        return String.join("&", parameters);
    }

    private static void add(List<String> parameters, String name, List<String> values) {
        for (String v : values) {
            parameters.add(name + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8));
        }
    }

    @Override
    public Integer call() {
        if (count != null && count < 1) {
            throw new VesicleCli.UsageException("--count must be at least 1, got " + count);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long seen = 0;
        try (AgentClient.MonitorStream stream = agent.client().monitor(query())) {
            for (Messages.MonitorEvent e = stream.next(); e != null; e = stream.next()) {
                if (e.type().equals("heartbeat")) {
                    continue;
                }
                if (output.json()) {
                    out.println(AgentClient.JSON.writeValueAsString(e));
                } else if (e.type().equals("lost")) {
                    err.println("lost " + e.lost() + " events: this terminal reads slower than they come");
                    err.flush();
                } else {
                    out.println(line(e));
                }
                out.flush();
                if (e.isEvent() && count != null && ++seen >= count) {
                    return 0;
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot print an event: " + e.getMessage(), e);
        }
        throw new IllegalStateException("the agent ended the stream (it is stopping)");
    }

    /** One event on one line: time, verdict, direction, reason, the flow, who. */
    static String line(Messages.MonitorEvent e) {
        StringBuilder s = new StringBuilder();
        s.append(e.time()).append("  ").append(e.verdict().toUpperCase()).append("  ").append(e.direction())
                .append("  ").append(e.reason()).append("  ");
        if (e.source() != null) {
            s.append(endpoint(e.source(), e.sourcePort())).append(" -> ")
                    .append(endpoint(e.destination(), e.destinationPort())).append(' ').append(e.protocol());
        } else {
            s.append("(not IPv4)");
        }
        s.append("  identity ").append(e.sourceIdentity()).append(" -> ").append(e.destinationIdentity());
        if (e.endpoint() != null && e.endpoint() != 0) {
            s.append("  endpoint ").append(e.endpoint());
            if (e.pod() != null) {
                s.append(" (").append(e.pod()).append(')');
            }
        }
        s.append("  ").append(e.length()).append(" bytes");
        return s.toString();
    }

    private static String endpoint(String address, Integer port) {
        return port == null ? address : address + ":" + port;
    }
}
