package io.vesicle.agent.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vesicle.agent.Agent;
import io.vesicle.agent.AgentConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code vesicle agent}: runs the node daemon until SIGTERM or SIGINT. */
public final class AgentCommand {
    private static final Logger LOG = LoggerFactory.getLogger(AgentCommand.class);
    static final String USAGE = String.join("\n",
            "usage: vesicle agent [--config FILE] [--node-name NAME] [--pod-cidr CIDR] [--gateway IP] [--mtu N]",
            "                     [--bpffs-root DIR] [--state-dir DIR] [--api-socket PATH] [--api-group GROUP]",
            "                     [--metrics-address HOST:PORT]",
            "",
            "Runs the node agent: loads and pins the datapath, restores the node's endpoints and serves the",
            "local API, and metrics and probes over HTTP. Flags override the keys of the YAML file (see README.md, 'The agent').");

    /** A configuration that cannot be used: exit 2, like a usage error. */
    public static final class ConfigError extends RuntimeException {
        ConfigError(String message) {
            super(message);
        }
    }

    private AgentCommand() {
    }

    public static int run(List<String> argv, PrintStream out) {
        if (argv.contains("--help")) {
            out.println(USAGE);
            return 0;
        }
        Set<String> known = new HashSet<>();
        known.add("config");
        Arrays.stream(AgentConfig.Key.values()).forEach(k -> known.add(k.flag));
        Args args = Args.parse("agent", argv, known);
        Map<String, String> flags = new HashMap<>();
        for (AgentConfig.Key key : AgentConfig.Key.values()) {
            String value = args.get(key.flag, null);
            if (value != null) {
                flags.put(key.flag, value);
            }
        }
        String file = args.get("config", null);
        AgentConfig config;
        try {
            config = AgentConfig.load(file == null ? null : Path.of(file), flags);
        } catch (AgentConfig.ConfigException e) {
            throw new ConfigError(e.getMessage());
        }
        Agent agent = new Agent(config).start();
        CountDownLatch stop = new CountDownLatch(1);
        // SIGTERM and SIGINT end the wait and the agent exits 0 once closed: a JVM ended by the
        // signal itself exits 143, which supervisors read as a failure.
        for (String signal : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stop.countDown());
        }
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("agent: stopping; the datapath stays in place for running pods");
        agent.close();
        LOG.info("agent: stopped");
        return 0;
    }
}
