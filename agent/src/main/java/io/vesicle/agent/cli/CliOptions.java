package io.vesicle.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** Options the commands share, as picocli mixins. */
final class CliOptions {
    private CliOptions() {
    }

    /** Where the agent listens. */
    static final class Agent {
        @Option(names = "--api-socket", paramLabel = "PATH", description = "the agent's API socket (default: "
                + "${DEFAULT-VALUE})")
        Path socket = ApiPaths.DEFAULT_SOCKET;

        AgentClient client() {
            return new AgentClient(socket, Duration.ofSeconds(30));
        }
    }

    enum Format { table, json }

    /** -o table|json. */
    static final class Output {
        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table or json (default: "
                + "${DEFAULT-VALUE})")
        Format format = Format.table;

        boolean json() {
            return format == Format.json;
        }
    }

    /** -o json|table for commands whose output has always been JSON. */
    static final class JsonOutput {
        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or table (default: "
                + "${DEFAULT-VALUE})")
        Format format = Format.json;

        boolean json() {
            return format == Format.json;
        }
    }

    /** A value as indented JSON. */
    static void printJson(PrintWriter out, Object value) {
        try {
            out.println(AgentClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
            out.flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print " + value + " as JSON", e);
        }
    }
}
