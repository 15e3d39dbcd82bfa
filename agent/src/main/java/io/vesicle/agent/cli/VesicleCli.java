package io.vesicle.agent.cli;

import io.vesicle.api.AgentClient;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code bin/vesicle}: the node agent and its command line, on picocli. Exit codes: 0 done, 1 the
 * command failed (the agent unreachable, or it refused), 2 a command line that cannot run (the
 * message says what is wrong and which --help explains it).
 */
@Command(name = "vesicle", synopsisHeading = "usage: ", usageHelpWidth = VesicleCli.WIDTH,
        description = "The Vesicle node agent and its command line.",
        commandListHeading = "%nCommands:%n",
        subcommands = {ApiCommands.Status.class, ApiCommands.Endpoint.class, ApiCommands.Identity.class,
                ApiCommands.Ipcache.class, ApiCommands.Policy.class, ApiCommands.MapGroup.class,
                ApiCommands.Metrics.class, MonitorCommand.class, ApiCommands.Events.class,
                DatapathCommands.Wire.class, DatapathCommands.Unwire.class, DatapathCommands.Endpoints.class,
                VesicleCli.Completion.class, VesicleCli.Help.class},
        footerHeading = "%nExamples:%n", footer = {
                "  vesicle status",
                "  vesicle endpoint list -o json",
                "  vesicle monitor --type drop",
                "  source <(vesicle completion bash)",
                "",
                "Commands that ask the agent take --api-socket (default /var/run/vesicle/vesicle.sock); "
                        + "'vesicle COMMAND --help' explains each."})
public final class VesicleCli implements Runnable {
    static final int WIDTH = 100;

    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT, description = "this help")
    boolean help;
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a command is required");
    }

    /** A command line that cannot be run as given: exit 2. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }

    /** A command grouping verbs ({@code endpoint list}): it needs one. */
    abstract static class Group implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            throw new ParameterException(spec.commandLine(), "a verb is required ("
                    + String.join(", ", spec.subcommands().keySet()) + ")");
        }
    }

    @Command(name = "completion", description = "Prints a shell completion script.",
            footerHeading = "%nExamples:%n", footer = {"  source <(vesicle completion bash)",
                    "  vesicle completion bash > /etc/bash_completion.d/vesicle"})
    static final class Completion implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SHELL", description = "bash (zsh reads it too, with bashcompinit)")
        String shell;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            if (!shell.equals("bash")) {
                throw new UsageException("completion: only bash is supported, not '" + shell + "'");
            }
            PrintWriter out = spec.commandLine().getOut();
            out.print(AutoComplete.bash("vesicle", spec.root().commandLine()));
            out.flush();
            return 0;
        }
    }

    @Command(name = "help", description = "This help, or a command's.", footerHeading = "%nExamples:%n",
            footer = {"  vesicle help", "  vesicle help endpoint list"})
    static final class Help implements Callable<Integer> {
        @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "the command to explain")
        List<String> command = new ArrayList<>();
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            CommandLine target = spec.root().commandLine();
            for (String name : command) {
                target = target.getSubcommands().get(name);
                if (target == null) {
                    throw new UsageException("help: no command '" + String.join(" ", command) + "'");
                }
            }
            target.usage(spec.commandLine().getOut());
            return 0;
        }
    }

    /** The whole command line, writing to out and err. */
    public static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine line = new CommandLine(new VesicleCli());
        line.addSubcommand("agent", AgentCommand.commandLine());
        line.setOut(new PrintWriter(out, true));
        line.setErr(new PrintWriter(err, true));
        line.setUsageHelpWidth(WIDTH);
        line.setUsageHelpAutoWidth(false);
        line.setCaseInsensitiveEnumValuesAllowed(true);
        line.setParameterExceptionHandler(VesicleCli::usageError);
        headings(line);
        line.setExecutionExceptionHandler((e, command, parsed) -> failure(e, command));
        return line;
    }

    /** Every command's synopsis starts "usage:", as the top's does. */
    private static void headings(CommandLine line) {
        line.getCommandSpec().usageMessage().synopsisHeading("usage: ");
        line.getSubcommands().values().forEach(VesicleCli::headings);
    }

    public static int run(List<String> argv, PrintStream out, PrintStream err) {
        CommandLine line = commandLine(out, err);
        if (argv.isEmpty()) {
            line.usage(out);
            return 2;
        }
        try {
            return line.execute(argv.toArray(String[]::new));
        } catch (UnsatisfiedLinkError e) {
            err.println("vesicle " + argv.get(0) + ": " + e.getMessage());
            return 1;
        }
    }

    /** "vesicle endpoint get", for messages. */
    private static String path(CommandLine command) {
        return command.getCommandSpec().qualifiedName(" ");
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(path(command) + ": " + usageMessage(e, command.getCommandSpec()));
        err.println("Run '" + path(command) + " --help' for its usage.");
        err.flush();
        return 2;
    }

    private static String usageMessage(ParameterException e, CommandSpec spec) {
        if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String first = unmatched.getUnmatched().get(0);
            if (first.startsWith("-")) {
                return "unknown option " + first;
            }
            if (!spec.subcommands().isEmpty()) {
                return (spec.parent() == null ? "unknown command '" : "unknown verb '") + first + "' (known: "
                        + String.join(", ", spec.subcommands().keySet()) + ")";
            }
            return "unexpected argument '" + first + "'";
        }
        if (e instanceof CommandLine.MissingParameterException missing
                && missing.getMissing().stream().allMatch(ArgSpec::isPositional)) {
            List<String> labels = new ArrayList<>();
            for (PositionalParamSpec p : spec.positionalParameters()) {
                labels.add(p.paramLabel());
            }
            return String.join(" and ", labels) + (labels.size() == 1 ? " is required" : " are required");
        }
        return e.getMessage();
    }

    private static int failure(Exception e, CommandLine command) {
        PrintWriter err = command.getErr();
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        int code = 1;
        if (e instanceof UsageException || e instanceof AgentCommand.ConfigError) {
            code = 2;
        } else if (e instanceof AgentClient.UnavailableException) {
            message += " (is the agent running? --api-socket names its socket)";
        } else if (e instanceof AgentClient.ApiException api) {
            message = "the agent answered " + api.status() + ": " + message;
        }
        err.println(path(command) + ": " + message);
        err.flush();
        return code;
    }
}
