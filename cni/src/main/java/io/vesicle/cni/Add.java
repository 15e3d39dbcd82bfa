package io.vesicle.cni;

import io.vesicle.api.AgentClient.ApiException;
import io.vesicle.api.AgentClient.UnavailableException;
import io.vesicle.api.Messages;
import java.util.ArrayList;
import java.util.List;

/**
 * ADD: an address (the agent's IPAM, or the delegated plugin's), then one agent call that creates
 * the veth, moves its peer into CNI_NETNS as CNI_IFNAME, sets MTU, address and routes and
 * attaches the datapath. The result is appended to prevResult when there is one. A failure
 * undoes what this ADD did: the delegated allocation always, the endpoint when the agent's
 * answer was lost (the agent itself leaves nothing behind when it answers an error).
 */
final class Add {
    /** The route every pod gets through its gateway. */
    static final String DEFAULT_ROUTE = "0.0.0.0/0";

    private Add() {
    }

    static String run(Invocation inv) throws CniError {
        NetworkConfig config = inv.config();
        CniEnvironment env = inv.env();
        // Read before any side effect: a malformed prevResult must not leave an endpoint behind.
        CniResult prev = config.prevResult();

        IpamPlugin ipam = null;
        CniResult allocation = null;
        CniResult.IpConfig delegated = null;
        if (config.delegatesIpam()) {
            ipam = inv.ipam();
            allocation = ipam.add();
            for (CniResult.IpConfig ip : allocation.ips()) {
                if (ip.version().equals("4")) {
                    delegated = ip;
                    break;
                }
            }
            if (delegated == null) {
                undoIpam(inv, ipam);
                throw Fields.invalid("ipam", "gave no IPv4 address (the IPAM plugin \"" + ipam.type()
                        + "\" returned " + allocation.ips().size() + " addresses); Vesicle pods need one");
            }
        }

        Messages.CreateEndpoint request = new Messages.CreateEndpoint(env.containerId(), env.ifname(), env.netns(),
                env.podNamespace(), env.podName(), delegated == null ? null : delegated.address(),
                delegated == null ? null : delegated.gateway(), inv.config().name());
        Messages.Endpoint endpoint;
        try {
            endpoint = inv.agent().createEndpoint(request);
        } catch (UnavailableException e) {
            // Connected, the agent may have finished before the answer was lost: undo it too.
            if (e.connected()) {
                undoEndpoint(inv);
            }
            undoIpam(inv, ipam);
            throw inv.agentFailure(e);
        } catch (ApiException e) {
            undoIpam(inv, ipam);
            throw inv.agentFailure(e);
        }
        if (endpoint.address() == null || endpoint.address().indexOf('/') < 0) {
            undoEndpoint(inv);
            undoIpam(inv, ipam);
            throw new CniError(CniError.INTERNAL, "the Vesicle agent's endpoint has no address in CIDR form",
                    "address: " + endpoint.address());
        }

        CniResult.Dns dns = allocation != null && !allocation.dns().isEmpty() ? allocation.dns() : config.dns();
        CniResult ours = result(endpoint, env, dns);
        CniResult result = prev == null ? ours : prev.append(ours);
        return Json.write(result.toJson(config.cniVersion()));
    }

    /** The result of one endpoint: host side, container side, its address and default route. */
    static CniResult result(Messages.Endpoint endpoint, CniEnvironment env, CniResult.Dns dns) {
        List<CniResult.Interface> interfaces = new ArrayList<>(2);
        if (endpoint.hostIf() != null) {
            interfaces.add(new CniResult.Interface(endpoint.hostIf(), endpoint.hostMac(), null, null, null, null));
        }
        interfaces.add(new CniResult.Interface(env.ifname(), endpoint.mac(), endpoint.mtu() > 0 ? endpoint.mtu()
                : null, env.netns(), null, null));
        int podIndex = interfaces.size() - 1;
        List<CniResult.IpConfig> ips = List.of(new CniResult.IpConfig(podIndex, endpoint.address(),
                endpoint.gateway()));
        List<CniResult.Route> routes = endpoint.gateway() == null ? List.of()
                : List.of(new CniResult.Route(DEFAULT_ROUTE, endpoint.gateway()));
        return new CniResult(interfaces, ips, routes, dns);
    }

    private static void undoEndpoint(Invocation inv) {
        try {
            inv.cleanupAgent().deleteEndpoint(inv.env().containerId(), inv.env().ifname());
        } catch (RuntimeException e) {
            inv.log().println("vesicle-cni: could not undo the endpoint after a failed ADD: " + e.getMessage());
        }
    }

    private static void undoIpam(Invocation inv, IpamPlugin ipam) {
        if (ipam == null) {
            return;
        }
        try {
            ipam.del();
        } catch (CniError e) {
            inv.log().println("vesicle-cni: could not release the IPAM plugin's address after a failed ADD: "
                    + e.getMessage());
        }
    }
}
