package io.vesicle.cni;

import io.vesicle.api.AgentClient.ApiException;
import io.vesicle.api.AgentClient.UnavailableException;
import java.io.PrintStream;
import java.time.Duration;

/** One run of the plugin: its checked parameters and configuration, and what it talks to. */
final class Invocation {
    private final CniEnvironment env;
    private final NetworkConfig config;
    private final PrintStream log;
    private final Duration timeout;
    private Agent agent;

    Invocation(CniEnvironment env, NetworkConfig config, PrintStream log, Duration timeout) {
        this.env = env;
        this.config = config;
        this.log = log;
        this.timeout = timeout;
    }

    CniEnvironment env() {
        return env;
    }

    NetworkConfig config() {
        return config;
    }

    /** Diagnostics: stderr, never stdout. */
    PrintStream log() {
        return log;
    }

    Agent agent() {
        if (agent == null) {
            agent = new Agent(config.agentSocket(), timeout);
        }
        return agent;
    }

    /** A client with a short deadline, for undoing a half-done ADD without doubling the wait. */
    Agent cleanupAgent() {
        return new Agent(config.agentSocket(), timeout.compareTo(Duration.ofSeconds(5)) < 0 ? timeout
                : Duration.ofSeconds(5));
    }

    IpamPlugin ipam() throws CniError {
        return IpamPlugin.find(env, config, timeout, log);
    }

    /**
     * An agent failure as the CNI error the runtime acts on (README, "CNI error codes"):
     * unreachable is 11 (try again later), or 50 for STATUS; 503 (the agent is up but not ready)
     * likewise; 507 is 100 (addresses exhausted); 409 is 101 on ADD (the interface exists) and 102
     * on CHECK; 404 is 3 on CHECK (unknown container) and 4 on ADD (no such CNI_NETNS); any other
     * 4xx is 7 (the agent refused the configuration); 5xx and the rest are 999.
     */
    /** The agent's request fields that come from CNI_* variables. */
    private static final java.util.Map<String, String> ENVIRONMENT_FIELDS = java.util.Map.of(
            "netns", CniEnvironment.NETNS, "ifname", "CNI_IFNAME", "containerID", "CNI_CONTAINERID");

    CniError agentFailure(RuntimeException failure) {
        CniEnvironment.Command command = env.command();
        if (failure instanceof UnavailableException) {
            if (command == CniEnvironment.Command.STATUS) {
                return new CniError(CniError.NOT_AVAILABLE, "the Vesicle agent is not reachable",
                        failure.getMessage());
            }
            return new CniError(CniError.TRY_AGAIN_LATER, "the Vesicle agent is not reachable; try again later",
                    failure.getMessage());
        }
        if (!(failure instanceof ApiException)) {
            return new CniError(CniError.INTERNAL, "calling the Vesicle agent failed", String.valueOf(failure));
        }
        int status = ((ApiException) failure).status();
        String reason = "agent answered " + status + ": " + failure.getMessage();
        if (command == CniEnvironment.Command.STATUS) {
            return new CniError(CniError.NOT_AVAILABLE, "the Vesicle agent is not ready", reason);
        }
        switch (status) {
            case 503:
                return new CniError(CniError.TRY_AGAIN_LATER, "the Vesicle agent is not ready; try again later",
                        reason);
            case 507:
                return new CniError(CniError.ADDRESSES_EXHAUSTED, "no free pod address on this node", reason);
            case 409:
                if (command == CniEnvironment.Command.ADD) {
                    return new CniError(CniError.INTERFACE_EXISTS, "interface " + env.ifname()
                            + " already exists in the container", reason);
                }
                if (command == CniEnvironment.Command.CHECK) {
                    return new CniError(CniError.CHECK_FAILED, "the attachment is not as set up", reason);
                }
                break;
            case 404:
                if (command == CniEnvironment.Command.CHECK) {
                    return new CniError(CniError.UNKNOWN_CONTAINER, "unknown container: the agent has no endpoint "
                            + env.containerId() + "/" + env.ifname(), reason);
                }
                if (command == CniEnvironment.Command.ADD) {
                    return new CniError(CniError.INVALID_ENVIRONMENT, CniEnvironment.NETNS + " \"" + env.netns()
                            + "\" is not a network namespace the agent can enter", reason);
                }
                break;
            case 400:
                String field = ((ApiException) failure).field();
                if (field != null && ENVIRONMENT_FIELDS.containsKey(field)) {
                    // What the runtime passed in CNI_* variables is the environment's fault, not the config's.
                    return new CniError(CniError.INVALID_ENVIRONMENT, ENVIRONMENT_FIELDS.get(field)
                            + " was refused by the Vesicle agent", reason);
                }
                break;
            default:
                break;
        }
        if (status >= 400 && status < 500) {
            return new CniError(CniError.INVALID_CONFIG, "the Vesicle agent refused the request", reason);
        }
        return new CniError(CniError.INTERNAL, "the Vesicle agent failed", reason);
    }
}
