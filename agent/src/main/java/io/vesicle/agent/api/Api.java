package io.vesicle.agent.api;

import io.vesicle.api.Messages;
import java.util.List;

/**
 * What the local API does, as {@link ApiServer} calls it once it has routed and decoded a request
 * (docs/api.md). Implementations validate what they are given and throw {@link ApiFailure} with
 * the status to answer; any other exception is answered 500.
 */
public interface Api {
    /** "ok", or a Health whose status is not "ok" and whose reason says why (answered 503). */
    Messages.Health health();

    Object status();

    Messages.NodeConfig config();

    Messages.IpamAllocation allocate(Messages.IpamRequest request);

    Messages.IpamRelease release(Messages.IpamRequest request);

    Messages.Endpoint createEndpoint(Messages.CreateEndpoint request);

    List<Messages.Endpoint> endpoints();

    /** @throws ApiFailure 404 when there is no such endpoint */
    Messages.Endpoint endpoint(String containerID, String ifname);

    Messages.Deleted deleteEndpoint(String containerID, String ifname);

    /** @throws ApiFailure 409 naming what differs, 404 when there is no such endpoint */
    Messages.CheckResult checkEndpoint(String containerID, String ifname);

    Messages.GcResult gc(Messages.GcRequest request);
}
