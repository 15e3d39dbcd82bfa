package io.vesicle.cni;

import io.vesicle.api.Messages;
import java.util.ArrayList;
import java.util.List;

/**
 * CHECK (0.4.0 and later): prevResult must list CNI_IFNAME in CNI_NETNS with an address; the
 * agent must know the endpoint (else error 3) with that address and MAC; the agent's own check
 * (veth, address, routes, datapath entries inside the namespace) must pass; a delegated IPAM
 * plugin is checked too. A difference is error 102. Later plugins in the chain may have changed
 * routes, so prevResult's routes are not compared.
 */
final class Check {
    private Check() {
    }

    static String run(Invocation inv) throws CniError {
        NetworkConfig config = inv.config();
        CniEnvironment env = inv.env();
        config.requireVersion("0.4.0", CniEnvironment.Command.CHECK);
        CniResult prev = config.prevResult();
        if (prev == null) {
            throw Fields.invalid("prevResult", "is required for CHECK");
        }
        int index = -1;
        for (int i = 0; i < prev.interfaces().size(); i++) {
            CniResult.Interface candidate = prev.interfaces().get(i);
            if (candidate.name().equals(env.ifname()) && env.netns().equals(candidate.sandbox())) {
                index = i;
            }
        }
        if (index < 0) {
            throw failed("prevResult has no interface " + env.ifname() + " in sandbox " + env.netns(), null);
        }
        CniResult.Interface pod = prev.interfaces().get(index);
        List<String> addresses = new ArrayList<>();
        for (CniResult.IpConfig ip : prev.ips()) {
            if (ip.interfaceIndex() != null && ip.interfaceIndex() == index) {
                addresses.add(ip.address());
            }
        }
        if (addresses.isEmpty()) {
            throw failed("prevResult has no address on interface " + env.ifname(), null);
        }

        Messages.Endpoint endpoint;
        try {
            endpoint = inv.agent().endpoint(env.containerId(), env.ifname());
        } catch (RuntimeException e) {
            throw inv.agentFailure(e);
        }
        if (endpoint == null) {
            throw new CniError(CniError.UNKNOWN_CONTAINER, "unknown container: the agent has no endpoint "
                    + env.containerId() + "/" + env.ifname());
        }
        if (!addresses.contains(endpoint.address())) {
            throw failed("the endpoint's address differs from prevResult", "agent has " + endpoint.address()
                    + ", prevResult has " + addresses);
        }
        if (pod.mac() != null && endpoint.mac() != null && !pod.mac().equalsIgnoreCase(endpoint.mac())) {
            throw failed("the endpoint's MAC address differs from prevResult", "agent has " + endpoint.mac()
                    + ", prevResult has " + pod.mac());
        }
        try {
            inv.agent().checkEndpoint(env.containerId(), env.ifname());
        } catch (RuntimeException e) {
            throw inv.agentFailure(e);
        }
        if (config.delegatesIpam()) {
            inv.ipam().check();
        }
        return null;
    }

    private static CniError failed(String msg, String details) {
        return new CniError(CniError.CHECK_FAILED, msg, details);
    }
}
