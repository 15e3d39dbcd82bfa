package io.vesicle.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** Commands that ask a running agent over its API: {@code status}, {@code endpoint list|get|delete}. */
public final class ApiCommands {
    private static final Set<String> OPTIONS = Set.of("api-socket");

    private ApiCommands() {
    }

    private static AgentClient client(Args args) {
        return new AgentClient(Path.of(args.get("api-socket", ApiPaths.DEFAULT_SOCKET.toString())),
                Duration.ofSeconds(30));
    }

    public static int status(List<String> argv, PrintStream out) throws Exception {
        if (argv.contains("--help")) {
            out.println("usage: vesicle status [--api-socket PATH]   the agent's status, as JSON");
            return 0;
        }
        Args args = Args.parse("status", argv, OPTIONS);
        JsonNode status = client(args).call("GET", ApiPaths.STATUS, null, JsonNode.class);
        out.println(AgentClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(status));
        return 0;
    }

    public static int endpoint(List<String> argv, PrintStream out) throws Exception {
        String usage = "usage: vesicle endpoint list [--api-socket PATH]\n"
                + "       vesicle endpoint get|delete CONTAINER_ID IFNAME [--api-socket PATH]";
        if (argv.isEmpty() || argv.contains("--help")) {
            out.println(usage);
            return argv.isEmpty() ? 2 : 0;
        }
        String verb = argv.get(0);
        switch (verb) {
            case "list": {
                Args args = Args.parse("endpoint list", argv.subList(1, argv.size()), OPTIONS);
                List<Messages.Endpoint> endpoints = client(args).endpoints();
                out.printf("%-5s %-15s %-18s %-18s %-15s %s%n", "ID", "HOST IF", "ADDRESS", "MAC", "IFNAME",
                        "CONTAINER");
                for (Messages.Endpoint e : endpoints) {
                    out.printf("%-5d %-15s %-18s %-18s %-15s %s%n", e.id(), e.hostIf(), e.address(), e.mac(),
                            e.ifname(), e.containerID());
                }
                return 0;
            }
            case "get":
            case "delete": {
                // Options may follow; "endpoint get ID --api-socket S" lacks IFNAME, it is not "--api-socket".
                int positional = 1;
                while (positional < argv.size() && !argv.get(positional).startsWith("--")) {
                    positional++;
                }
                if (positional != 3) {
                    throw new Args.UsageException("endpoint " + verb + ": CONTAINER_ID and IFNAME are required");
                }
                Args args = Args.parse("endpoint " + verb, argv.subList(3, argv.size()), OPTIONS);
                AgentClient client = client(args);
                Object answer = verb.equals("get")
                        ? client.endpoint(argv.get(1), argv.get(2)).orElseThrow(() ->
                                new IllegalStateException("no endpoint " + argv.get(1) + "/" + argv.get(2)))
                        : client.deleteEndpoint(argv.get(1), argv.get(2));
                out.println(AgentClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
                return 0;
            }
            default:
                throw new Args.UsageException("endpoint: unknown verb '" + verb + "'\n" + usage);
        }
    }
}
