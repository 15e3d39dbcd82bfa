package io.vesicle.cni;

import io.vesicle.api.AgentClient.ApiException;

/**
 * DEL: the agent removes the endpoint (veth, datapath entries, state, its own IPAM's address)
 * and answers success when there is none; then the delegated IPAM plugin releases its address.
 * Nothing here depends on CNI_NETNS or prevResult, so a repeated DEL, or one after the
 * namespace is gone, succeeds. An unreachable agent is error 11: the runtime retries, and the
 * delegated address is kept until the endpoint that uses it is gone.
 */
final class Del {
    private Del() {
    }

    static String run(Invocation inv) throws CniError {
        CniEnvironment env = inv.env();
        try {
            inv.agent().deleteEndpoint(env.containerId(), env.ifname());
        } catch (ApiException e) {
            if (e.status() != 404) {
                throw inv.agentFailure(e);
            }
        } catch (RuntimeException e) {
            throw inv.agentFailure(e);
        }
        if (inv.config().delegatesIpam()) {
            inv.ipam().del();
        }
        return null;
    }
}
