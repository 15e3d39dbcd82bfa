package io.vesicle.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Every command's --help against its golden copy in src/test/resources/cli-help (a changed help
 * text is a reviewed change: run with -Dvesicle.golden.update=true to rewrite them), and what every
 * help must have.
 */
class CliHelpTest {
    static final Path GOLDEN = Path.of("src/test/resources/cli-help");
    /** Commands that print no data: the daemon, the script, the help, and the wiring by hand. */
    static final Set<String> WITHOUT_OUTPUT_FORMAT = Set.of("agent", "completion", "help", "wire", "unwire",
            "endpoint delete");

    record Result(int exit, String out, String err) {
    }

    static Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = VesicleCli.run(List.of(argv), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every command path: "", "status", "endpoint", "endpoint list", ... */
    static Stream<String> commands() {
        List<String> paths = new ArrayList<>();
        collect(VesicleCli.commandLine(System.out, System.err), "", paths);
        return paths.stream();
    }

    private static void collect(CommandLine line, String path, List<String> into) {
        into.add(path);
        line.getSubcommands().forEach((name, sub) -> collect(sub, path.isEmpty() ? name : path + " " + name, into));
    }

    static String[] helpArgs(String path) {
        List<String> args = new ArrayList<>(path.isEmpty() ? List.of() : List.of(path.split(" ")));
        args.add("--help");
        return args.toArray(String[]::new);
    }

    @ParameterizedTest(name = "vesicle {0} --help")
    @MethodSource("commands")
    void helpMatchesItsGoldenCopy(String path) throws IOException {
        Result help = run(helpArgs(path));
        assertEquals(0, help.exit(), help.err());
        Path golden = GOLDEN.resolve((path.isEmpty() ? "vesicle" : "vesicle-" + path.replace(' ', '-')) + ".txt");
        if (Boolean.getBoolean("vesicle.golden.update")) {
            Files.writeString(golden, help.out());
        }
        assertTrue(Files.exists(golden), golden + " is missing: run with -Dvesicle.golden.update=true");
        assertEquals(Files.readString(golden), help.out(), "vesicle " + path + " --help differs from " + golden);
    }

    @ParameterizedTest(name = "vesicle {0} --help")
    @MethodSource("commands")
    void everyHelpHasExamplesAndEveryDataCommandJsonOutput(String path) {
        String help = run(helpArgs(path)).out();
        assertTrue(help.startsWith("usage: vesicle"), help);
        boolean group = !VesicleCli.commandLine(System.out, System.err).getCommandSpec().subcommands().isEmpty()
                && path.isEmpty();
        boolean verbGroup = Set.of("endpoint", "identity", "ipcache", "policy", "map").contains(path);
        if (!group && !verbGroup) {
            assertTrue(help.contains("Examples:"), "vesicle " + path + " --help has examples:\n" + help);
            if (!WITHOUT_OUTPUT_FORMAT.contains(path)) {
                assertTrue(help.contains("-o, --output=FORMAT"), "vesicle " + path + " takes -o json:\n" + help);
            }
        }
    }

    @Test
    void helpWithoutArgumentsIsTheTopUsageAndNamesEveryCommand() {
        Result help = run("help");
        assertEquals(0, help.exit());
        for (String command : List.of("status", "endpoint", "identity", "ipcache", "policy", "map", "metrics",
                "monitor", "completion", "agent")) {
            assertTrue(help.out().contains("  " + command + " "), command + " in\n" + help.out());
        }
        assertEquals(run("--help").out(), help.out());
    }

    @Test
    void theCompletionScriptCompletesEveryCommand() {
        Result script = run("completion", "bash");
        assertEquals(0, script.exit(), script.err());
        assertTrue(script.out().contains("complete -F _complete_vesicle"), "a bash completion function");
        for (String command : List.of("status", "monitor", "ipcache", "agent")) {
            assertTrue(script.out().contains(command), command);
        }
        assertEquals(2, run("completion", "fish").exit());
    }

    @Test
    void usageErrorsExitTwoNamingWhatIsWrong() {
        Result none = run();
        assertEquals(2, none.exit());
        assertTrue(none.out().startsWith("usage: vesicle"));
        Result unknown = run("frobnicate");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("unknown command 'frobnicate'"), unknown.err());
        Result missing = run("endpoint", "get", "c1");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("CONTAINER_ID and IFNAME are required"), missing.err());
        Result badValue = run("monitor", "--count", "0", "--api-socket", "/nonexistent/s");
        assertEquals(2, badValue.exit());
        assertTrue(badValue.err().contains("--count must be at least 1"), badValue.err());
        Result badFormat = run("endpoint", "list", "-o", "yaml");
        assertEquals(2, badFormat.exit());
        assertTrue(badFormat.err().contains("--output"), badFormat.err());
    }

    @Test
    void anUnreachableAgentExitsOneNamingTheSocketForEveryCommandThatAsksIt() {
        String socket = "/nonexistent/vesicle.sock";
        for (String[] command : List.of(new String[] {"status"}, new String[] {"endpoint", "list"},
                new String[] {"identity", "list"}, new String[] {"ipcache", "list"}, new String[] {"policy", "get"},
                new String[] {"map", "list"}, new String[] {"map", "dump", "vsl_lxc"}, new String[] {"metrics"},
                new String[] {"monitor"}, new String[] {"events"})) {
            List<String> args = new ArrayList<>(List.of(command));
            args.addAll(List.of("--api-socket", socket));
            Result r = run(args.toArray(String[]::new));
            assertEquals(1, r.exit(), String.join(" ", command) + ": " + r.err());
            assertTrue(r.err().contains(socket) && r.err().contains("is the agent running?"),
                    String.join(" ", command) + ": " + r.err());
            assertEquals("", r.out(), String.join(" ", command));
        }
    }
}
