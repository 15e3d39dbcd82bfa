package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/vesicle agent} running for a node namespace, as a node would run it:
 * {@code nsenter --net=/var/run/netns/NODE bin/vesicle agent --config F}, with its config, state
 * directory and API socket in a temporary directory of the network and its pins under a pin root
 * of the network. It can be killed (SIGKILL), stopped (SIGTERM) and started again on the same
 * state. Its output goes to a log kept across restarts; on close it is killed if still running
 * and the log is copied to {@code target/agent-logs/} for post-mortems.
 */
public final class AgentProcess implements AutoCloseable {
    private final TestNetwork network;
    private final String nodeNetns;
    private final String nodeName;
    private final String podCIDR;
    private final Path dir;
    private final Path stateDir;
    private final Path socket;
    private final Path pinRoot;
    private final Path config;
    private final Path log;
    private final AgentClient client;
    private Process process;

    private AgentProcess(TestNetwork network, String nodeNetns, String nodeName, Map<String, String> settings) {
        this.network = network;
        this.nodeNetns = nodeNetns;
        this.nodeName = nodeName;
        this.podCIDR = settings.get("podCIDR");
        this.dir = network.tempDir("agent-" + nodeName);
        this.stateDir = dir.resolve("state");
        this.socket = dir.resolve("vesicle.sock");
        this.pinRoot = network.pinRoot();
        this.config = dir.resolve("agent.yaml");
        this.log = dir.resolve("agent.log");
        this.client = new AgentClient(socket, Duration.ofSeconds(10));
        Map<String, String> all = new LinkedHashMap<>();
        all.put("nodeName", nodeName);
        all.putAll(settings);
        all.put("stateDir", stateDir.toString());
        all.put("apiSocket", socket.toString());
        all.put("bpffsRoot", pinRoot.toString());
        StringBuilder yaml = new StringBuilder();
        all.forEach((key, value) -> yaml.append(key).append(": ").append(value).append('\n'));
        try {
            Files.writeString(config, yaml);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + config, e);
        }
    }

    /** Writes the config for an agent of nodeNetns (node name: the namespace's short name) and starts it. */
    public static AgentProcess start(TestNetwork network, String nodeNetns, String podCIDR) {
        String name = nodeNetns.substring(nodeNetns.lastIndexOf('-') + 1);
        AgentProcess agent = new AgentProcess(network, nodeNetns, name, Map.of("podCIDR", podCIDR));
        agent.start();
        return agent;
    }

    /**
     * An agent of nodeNetns named nodeName whose config holds settings (YAML keys to values, in
     * order) besides its own state directory, socket and pin root; not started yet.
     */
    public static AgentProcess configure(TestNetwork network, String nodeNetns, String nodeName,
                                         Map<String, String> settings) {
        return new AgentProcess(network, nodeNetns, nodeName, settings);
    }

    /** Starts the agent and waits until its API answers healthz with ok. */
    public void start() {
        launch();
        awaitHealthy(Duration.ofSeconds(60));
    }

    /** Starts the agent process without waiting for it. */
    public synchronized void launch() {
        if (running()) {
            throw new IllegalStateException("agent already running, pid " + process.pid());
        }
        List<String> command = Shell.inNetns(nodeNetns, Repo.vesicle().toString(), "agent", "--config", config.toString());
        try {
            appendLog("---- start: " + String.join(" ", command) + "\n");
            process = network.own(new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start());
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the agent: " + e.getMessage(), e);
        }
    }

    /** Waits until healthz answers ok; fails with the log's tail if the process exits or time runs out. */
    public void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            Process p;
            synchronized (this) {
                p = process;
            }
            if (p == null || !p.isAlive()) {
                throw new IllegalStateException("the agent exited (" + (p == null ? "never started" : p.exitValue())
                        + ") before it was healthy; log:\n" + logTail(40));
            }
            last = unhealthyReason();
            if (last == null) {
                return;
            }
            sleep(20);
        }
        throw new IllegalStateException("the agent was not healthy within " + timeout + " (" + last + "); log:\n"
                + logTail(40));
    }

    /**
     * Null when healthz answers ok; else what it said instead (a degraded agent's 503 and its
     * reason) or why it did not answer.
     */
    public String unhealthyReason() {
        try {
            var health = client.health();
            return "ok".equals(health.status()) ? null : health.status() + " " + health.reason();
        } catch (AgentClient.ApiException e) {
            return "HTTP " + e.status() + " " + e.getMessage();
        } catch (RuntimeException e) {
            return "no answer: " + e.getMessage();
        }
    }

    /** SIGKILL (with its descendants), as a crash or an OOM kill would; waits until it is gone. */
    public synchronized void kill() {
        if (process != null) {
            appendLog("---- SIGKILL\n");
            Shell.killTree(process.toHandle());
        }
    }

    /** SIGTERM, as a node shutting the agent down; returns its exit code. */
    public synchronized int terminate(Duration timeout) {
        if (process == null) {
            throw new IllegalStateException("agent never started");
        }
        appendLog("---- SIGTERM\n");
        process.destroy();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                Shell.killTree(process.toHandle());
                throw new IllegalStateException("the agent did not stop within " + timeout + " of SIGTERM; log:\n"
                        + logTail(40));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return process.exitValue();
    }

    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    public AgentClient client() {
        return client;
    }

    /** GET /v1/status as a tree (the client has no record for it). */
    public JsonNode status() {
        return client.call("GET", ApiPaths.STATUS, null, JsonNode.class);
    }

    public String nodeNetns() {
        return nodeNetns;
    }

    public String nodeName() {
        return nodeName;
    }

    /** The configured pod CIDR; null when the cluster state assigns it. */
    public String podCIDR() {
        return podCIDR;
    }

    public Path stateDir() {
        return stateDir;
    }

    public Path socket() {
        return socket;
    }

    public Path pinRoot() {
        return pinRoot;
    }

    public Path configFile() {
        return config;
    }

    public Path log() {
        return log;
    }

    /** The last lines of the agent's output. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public synchronized void close() {
        if (process != null && process.isAlive()) {
            Shell.killTree(process.toHandle());
        }
        Path kept = Path.of("target", "agent-logs");
        if (Files.isDirectory(Path.of("target")) && Files.exists(log)) {
            try {
                Files.createDirectories(kept);
                Files.copy(log, kept.resolve(dir.getFileName() + ".log"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ignored) {
                // Only a post-mortem aid.
            }
        }
    }

    private void appendLog(String line) {
        try {
            Files.writeString(log, line, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // The log is an aid, not a result.
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
