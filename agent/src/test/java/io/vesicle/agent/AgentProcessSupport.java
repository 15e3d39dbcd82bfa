package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.maps.DatapathMaps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Runs {@code bin/vesicle agent} as the node runs it: a process in a node network namespace of its
 * own ({@code nsenter --net=...}), configured by a YAML file, with its pins, state and socket in
 * throwaway places; everything is removed after each test.
 */
abstract class AgentProcessSupport {
    static final Path TOP = Path.of("").toAbsolutePath().getParent();
    static final Path BIN = TOP.resolve("bin/vesicle");
    static final Path JAR = TOP.resolve("agent/target/vesicle-agent.jar");

    TestNamespaces ns;
    String node;
    Path pinRoot;
    Path scratch;
    Path stateDir;
    Path socket;
    Path configFile;
    Path log;
    Process agent;
    /** Helpers (traffic generators...) killed after the test, whatever happened. */
    final List<Process> children = new ArrayList<>();
    AgentClient client;

    @BeforeEach
    void setUp() throws IOException {
        ns = new TestNamespaces();
        node = ns.namespace("node");
        pinRoot = ns.pinRoot();
        scratch = ns.scratch();
        stateDir = scratch.resolve("state");
        socket = scratch.resolve("run/api.sock");
        log = scratch.resolve("agent.log");
        configFile = scratch.resolve("agent.yaml");
        Files.writeString(configFile, String.join("\n",
                "nodeName: it-node",
                "podCIDR: 10.202.0.0/24",
                "mtu: 1450",
                "bpffsRoot: " + pinRoot,
                "stateDir: " + stateDir,
                "apiSocket: " + socket,
                ""));
        client = new AgentClient(socket, Duration.ofSeconds(20));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            for (Process child : children) {
                child.destroyForcibly();
            }
            if (agent != null && agent.isAlive()) {
                agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            ns.close();
        }
    }

    /** The command that runs the agent: bin/vesicle once packaged, else this test's class path. */
    List<String> agentCommand() {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=" + TestNamespaces.path(node), "--"));
        if (Files.exists(JAR)) {
            command.add(BIN.toString());
        } else {
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), "io.vesicle.agent.Main"));
        }
        command.addAll(List.of("agent", "--config", configFile.toString()));
        return command;
    }

    void startAgent() throws Exception {
        agent = new ProcessBuilder(agentCommand()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!agent.isAlive()) {
                throw new AssertionError("the agent exited " + agent.exitValue() + ":\n" + Files.readString(log));
            }
            if (Files.exists(socket)) {
                try {
                    assertEquals("ok", client.health().status());
                    return;
                } catch (AgentClient.UnavailableException e) {
                    // a stale socket of a killed agent, not yet replaced
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the agent did not serve within 60 s:\n" + Files.readString(log));
    }

    Process spawn(List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        children.add(process);
        return process;
    }

    Messages.Endpoint create(String containerID, String pod) {
        return client.createEndpoint(new Messages.CreateEndpoint(containerID, "eth0",
                TestNamespaces.path(pod).toString(), "default", containerID, null, null));
    }

    static String ip(Messages.Endpoint e) {
        return e.address().substring(0, e.address().indexOf('/'));
    }

    void assertNothingLeft() throws IOException {
        assertNothingLeft("after the test");
    }

    /**
     * Nothing of any endpoint: no agent-named veth on the node side, no endpoint state or IPAM
     * file, no entry in either endpoint map.
     */
    void assertNothingLeft(String where) throws IOException {
        String links = TestNamespaces.run("ip", "-n", node, "-o", "link", "show");
        assertFalse(links.contains(": lxc"), where + ": veths left on the node side:\n" + links);
        for (String sub : List.of("endpoints", "ipam")) {
            try (Stream<Path> files = Files.list(stateDir.resolve(sub))) {
                assertEquals(List.of(), files.map(p -> p.getFileName().toString()).toList(), where + ": " + sub
                        + " files left");
            }
        }
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot)) {
            assertEquals(List.of(), maps.endpoints().keys(), where + ": vsl_endpoints entries left");
            assertEquals(List.of(), maps.endpointsByIfindex().keys(), where + ": vsl_lxc entries left");
        }
    }
}
