package io.vesicle.agent.api;

import io.vesicle.api.Messages;
import java.time.Duration;
import java.util.List;
import java.util.Map;

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

    /**
     * GET /v1/monitor: subscribes to datapath events matching query (parameter name to its values,
     * as given). Must not block: it runs on a server thread.
     *
     * @throws ApiFailure 400 naming a bad parameter, 404 when there are no events to monitor
     */
    default EventStream monitor(Map<String, List<String>> query) {
        throw ApiFailure.notFound("this agent has no event monitor");
    }

    /** A subscriber's events, taken by the one thread that streams them. */
    interface EventStream extends AutoCloseable {
        /** Waits up to timeout for events, then returns those queued (at most max); empty when none came. */
        List<Messages.MonitorEvent> next(Duration timeout, int max) throws InterruptedException;

        /** Events this stream could not queue so far (the client read too slowly). */
        long lost();

        @Override
        void close();
    }

    default Messages.EventsStatus events() {
        throw ApiFailure.notFound("this agent has no event monitor");
    }

    default Messages.EventsStatus configureEvents(Messages.EventSettings settings) {
        throw ApiFailure.notFound("this agent has no event monitor");
    }

    default List<Messages.MapInfo> datapathMaps() {
        throw ApiFailure.notFound("this agent shows no datapath maps");
    }

    /** One map's entries, decoded (a JSON array of {key, value} objects). */
    default Object datapathMap(String name) {
        throw ApiFailure.notFound("this agent shows no datapath maps");
    }

    default List<Messages.Counter> datapathMetrics() {
        throw ApiFailure.notFound("this agent shows no datapath counters");
    }

    default List<Messages.Identity> identities() {
        throw ApiFailure.notFound("this agent shows no identities");
    }

    default List<Messages.IpcacheEntry> ipcache() {
        throw ApiFailure.notFound("this agent shows no ipcache");
    }
}
