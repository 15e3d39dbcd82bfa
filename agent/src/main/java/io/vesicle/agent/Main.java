package io.vesicle.agent;

import io.vesicle.agent.cli.AgentCommand;
import io.vesicle.agent.cli.ApiCommands;
import io.vesicle.agent.cli.Args;
import io.vesicle.api.AgentClient;
import io.vesicle.agent.cli.DatapathCommands;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** {@code bin/vesicle}: the node agent and its command line. */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: vesicle <command> [options]",
            "",
            "  agent      run the node agent (datapath, endpoints, local API); see 'vesicle agent --help'",
            "",
            "commands that ask a running agent (--api-socket, default /var/run/vesicle/vesicle.sock):",
            "  status     the agent's status",
            "  endpoint   list, get or delete endpoints",
            "",
            "datapath commands (operate on the maps pinned under --pin-root, default /sys/fs/bpf/vesicle):",
            "  wire       create a pod veth in --pod-netns and attach it to the datapath in --node-netns",
            "  unwire     detach a pod's veth from the datapath and delete it",
            "  endpoints  list the endpoints in the datapath's maps",
            "  metrics    print the datapath's counters (packets and bytes by reason and direction)",
            "",
            "Run 'vesicle <command> --help' for a command's options.");

    private Main() {
    }

    public static void main(String[] argv) {
        System.exit(run(Arrays.asList(argv), System.out, System.err));
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        if (argv.isEmpty() || argv.get(0).equals("--help") || argv.get(0).equals("help")) {
            out.println(USAGE);
            return argv.isEmpty() ? 2 : 0;
        }
        String command = argv.get(0);
        List<String> rest = argv.subList(1, argv.size());
        try {
            switch (command) {
                case "agent":
                    return AgentCommand.run(rest, out);
                case "status":
                    return ApiCommands.status(rest, out);
                case "endpoint":
                    return ApiCommands.endpoint(rest, out);
                case "wire":
                case "unwire":
                case "endpoints":
                case "metrics":
                    return DatapathCommands.run(command, rest, out);
                default:
                    err.println("vesicle: unknown command '" + command + "'\n\n" + USAGE);
                    return 2;
            }
        } catch (Args.UsageException e) {
            err.println("vesicle " + e.getMessage());
            return 2;
        } catch (AgentCommand.ConfigError e) {
            err.println("vesicle " + command + ": " + e.getMessage());
            return 2;
        } catch (AgentClient.ApiException e) {
            err.println("vesicle " + command + ": the agent answered " + e.status() + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("vesicle " + command + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        } catch (UnsatisfiedLinkError e) {
            err.println("vesicle " + command + ": " + e.getMessage());
            return 1;
        }
    }
}
