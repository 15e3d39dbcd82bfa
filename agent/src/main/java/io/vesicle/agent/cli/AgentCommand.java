package io.vesicle.agent.cli;

import io.vesicle.agent.Agent;
import io.vesicle.agent.AgentConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vesicle agent}: runs the node daemon until SIGTERM or SIGINT. Its flags are the
 * configuration's keys ({@link AgentConfig.Key}), added when the command line is built, so a new
 * key is a new flag.
 */
@Command(name = "agent", description = {"Runs the node agent.", "Loads and pins the datapath, restores the node's "
        + "endpoints and serves the local API. Flags override the keys of the YAML file (see README.md, 'The agent')."},
        footerHeading = "%nExamples:%n", footer = {
                "  vesicle agent --config /etc/vesicle/agent.yaml",
                "  vesicle agent --pod-cidr 10.244.1.0/24 --node-name node-1"})
final class AgentCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(AgentCommand.class);
    /** Labels and help of the keys this command knows; a key added later gets a generic line. */
    private static final Map<String, String[]> HELP = Map.ofEntries(
            Map.entry("node-name", new String[] {"NAME", "this node's name (default: the host name)"}),
            Map.entry("pod-cidr", new String[] {"CIDR", "the IPv4 prefix this node's pods get addresses from"
                    + " (required with the file cluster state)"}),
            Map.entry("gateway", new String[] {"IP", "the pods' gateway (default: the CIDR's first host address)"}),
            Map.entry("mtu", new String[] {"N", "MTU of every pod veth (default: from the uplink)"}),
            Map.entry("bpffs-root", new String[] {"DIR", "where the maps are pinned"}),
            Map.entry("state-dir", new String[] {"DIR", "endpoint and IPAM state"}),
            Map.entry("api-socket", new String[] {"PATH", "the local API's unix socket"}),
            Map.entry("api-group", new String[] {"GROUP", "a group whose members may use the API besides root"}),
            Map.entry("routing-mode", new String[] {"MODE", "local, overlay or native"}),
            Map.entry("uplink", new String[] {"DEV", "the device towards the other nodes (default: the default"
                    + " route's)"}),
            Map.entry("node-ip", new String[] {"IP", "this node's underlay address (default: the uplink's)"}),
            Map.entry("cluster-cidr", new String[] {"CIDR", "the prefix of every node's pods"}),
            Map.entry("masquerade", new String[] {"BOOL", "pods reach the world as the node (default true)"}),
            Map.entry("cluster-state", new String[] {"SOURCE", "file, etcd or kubernetes (default file)"}),
            Map.entry("cluster-file", new String[] {"FILE", "file source: lines 'name underlayIP podCIDR'"}),
            Map.entry("etcd-endpoints", new String[] {"URLS", "etcd source: http://host:port,..."}),
            Map.entry("etcd-prefix", new String[] {"PREFIX", "etcd source: the key prefix (default /vesicle)"}),
            Map.entry("etcd-lease-ttl", new String[] {"SECONDS", "etcd source: how long a silent node stays"
                    + " listed (default 10)"}),
            Map.entry("node-cidr-mask-size", new String[] {"N", "etcd source: each node's pod CIDR length"
                    + " (default 24)"}),
            Map.entry("kubeconfig", new String[] {"FILE", "kubernetes source: a kubeconfig (default: in-cluster)"}),
            Map.entry("metrics-address", new String[] {"HOST:PORT", "where /metrics, /healthz and /readyz are"
                    + " served (default 127.0.0.1:9962)"}));

    @Option(names = "--config", paramLabel = "FILE", description = "the YAML configuration")
    Path config;
    @Spec
    CommandSpec spec;

    /** The command with one option per configuration key. */
    static CommandLine commandLine() {
        CommandLine line = new CommandLine(new AgentCommand());
        for (AgentConfig.Key key : AgentConfig.Key.values()) {
            String[] help = HELP.getOrDefault(key.flag, new String[] {"VALUE", "the '" + key.yaml + "' key"});
            line.getCommandSpec().addOption(OptionSpec.builder("--" + key.flag).paramLabel(help[0]).type(String.class)
                    .description(help[1]).build());
        }
        return line;
    }

    /** A configuration that cannot be used: exit 2, like a usage error. */
    static final class ConfigError extends RuntimeException {
        ConfigError(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() {
        Map<String, String> flags = new HashMap<>();
        for (AgentConfig.Key key : AgentConfig.Key.values()) {
            String value = spec.findOption("--" + key.flag).getValue();
            if (value != null) {
                flags.put(key.flag, value);
            }
        }
        AgentConfig agentConfig;
        try {
            agentConfig = AgentConfig.load(config, flags);
        } catch (AgentConfig.ConfigException e) {
            throw new ConfigError(e.getMessage());
        }
        Agent agent = new Agent(agentConfig).start();
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
