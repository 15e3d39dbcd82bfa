package io.vesicle.cni;

import io.vesicle.api.Messages;

/**
 * STATUS (1.1.0): ready when the agent answers its health check with "ok", and when a delegated
 * IPAM plugin that knows STATUS says so too. Not ready is error 50: pods already running keep
 * their network while the agent is away (programs stay attached, maps pinned), so 51 does not
 * apply.
 */
final class Status {
    private Status() {
    }

    static String run(Invocation inv) throws CniError {
        inv.config().requireVersion(NetworkConfig.CURRENT_VERSION, CniEnvironment.Command.STATUS);
        Messages.Health health;
        try {
            health = inv.agent().health();
        } catch (RuntimeException e) {
            throw inv.agentFailure(e);
        }
        if (!"ok".equals(health.status())) {
            throw new CniError(CniError.NOT_AVAILABLE, "the Vesicle agent is not ready",
                    "status " + health.status() + (health.reason() == null ? "" : ": " + health.reason()));
        }
        if (inv.config().delegatesIpam()) {
            inv.ipam().status();
        }
        return null;
    }
}
