package io.vesicle.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** The JSON bodies of the agent's API (docs/api.md). Absent optional members are null. */
public final class Messages {
    private Messages() {
    }

    /** Who an attachment belongs to: the CNI runtime's key. */
    public record Attachment(String containerID, String ifname) {
    }

    /**
     * PUT /v1/endpoints. address/gateway come from a delegated IPAM plugin; null = agent IPAM.
     * network is the CNI network's name (the configuration's {@code name}), which scopes GC.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CreateEndpoint(String containerID, String ifname, String netns, String podNamespace,
                                 String podName, String address, String gateway, String network) {
        public CreateEndpoint(String containerID, String ifname, String netns, String podNamespace, String podName,
                              String address, String gateway) {
            this(containerID, ifname, netns, podNamespace, podName, address, gateway, null);
        }
    }

    /** An endpoint as the agent keeps it; state is its life-cycle state ("ready", "not-ready", ...). */
    public record Endpoint(int id, String containerID, String ifname, String netns, String podNamespace,
                           String podName, String hostIf, String hostMac, String mac, String address,
                           String gateway, int mtu, boolean ipamOwned, String network, String state) {
        public Endpoint(int id, String containerID, String ifname, String netns, String podNamespace, String podName,
                        String hostIf, String hostMac, String mac, String address, String gateway, int mtu,
                        boolean ipamOwned) {
            this(id, containerID, ifname, netns, podNamespace, podName, hostIf, hostMac, mac, address, gateway, mtu,
                    ipamOwned, null, null);
        }
    }

    /** POST /v1/ipam/allocate and /v1/ipam/release. */
    public record IpamRequest(String containerID, String ifname) {
    }

    /** An allocated address in CIDR form ("10.244.1.5/24") and the gateway of its network. */
    public record IpamAllocation(String address, String gateway) {
    }

    public record IpamRelease(List<String> released) {
    }

    /** GET /v1/config: what the plugin needs of the node. */
    public record NodeConfig(String node, String podCIDR, String gateway, int mtu) {
    }

    public record Deleted(boolean deleted) {
    }

    public record CheckResult(boolean ok) {
    }

    /** POST /v1/gc: network (the CNI network's name) limits it to that network's attachments. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GcRequest(List<Attachment> valid, String network) {
        public GcRequest(List<Attachment> valid) {
            this(valid, null);
        }
    }

    /** pending: attachments being removed that did not finish in the request's time. */
    public record GcResult(List<Attachment> removed, List<Attachment> pending) {
        public GcResult(List<Attachment> removed) {
            this(removed, List.of());
        }
    }

    /** GET /v1/healthz. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Health(String status, String reason) {
    }

    /** The body of every 4xx and 5xx answer; field names the request field at fault, when one is. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ApiError(String error, String field) {
        public ApiError(String error) {
            this(error, null);
        }
    }

    /**
     * One line of GET /v1/monitor. type is "drop", "trace" or "policy-verdict" for datapath events
     * (verdict "dropped", "forwarded", "allowed" or "denied"); "lost" when this stream's queue was
     * full (lost: how many since the previous such line); "heartbeat" every few seconds of quiet.
     * source and destination are absent for a packet that is no IPv4.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MonitorEvent(String time, String type, String verdict, String reason, String direction,
                               Integer ifindex, Integer endpoint, String pod, Integer sourceIdentity,
                               Integer destinationIdentity, String source, String destination, String protocol,
                               Integer sourcePort, Integer destinationPort, Integer length, Long lost) {
        public static MonitorEvent lost(String time, long lost) {
            return new MonitorEvent(time, "lost", null, null, null, null, null, null, null, null, null, null, null,
                    null, null, null, lost);
        }

        public static MonitorEvent heartbeat(String time) {
            return new MonitorEvent(time, "heartbeat", null, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null);
        }

        /** A datapath event, not a line about the stream itself. */
        public boolean isEvent() {
            return !"lost".equals(type) && !"heartbeat".equals(type);
        }
    }

    /** GET /v1/events and PUT /v1/events/config: which events the datapath sends. */
    public record EventSettings(boolean drops, boolean traces, boolean policyVerdicts, int traceSample) {
    }

    /** GET /v1/events: read and lost by event type; lostBySubscribers: full monitor queues. */
    public record EventsStatus(EventSettings settings, java.util.Map<String, Long> read,
                               java.util.Map<String, Long> lostInDatapath, long lostBySubscribers, int subscribers) {
    }

    /** GET /v1/datapath/maps: one pinned map as the kernel describes it; entries -1 when not countable. */
    public record MapInfo(String name, String type, int id, int keySize, int valueSize, int maxEntries,
                          long entries, String pin) {
    }

    /** GET /v1/datapath/metrics: one counter, summed over CPUs. */
    public record Counter(String reason, String direction, boolean drop, long packets, long bytes) {
    }

    /** GET /v1/identities. */
    public record Identity(int id, String name, boolean reserved) {
    }

    /** GET /v1/ipcache: a prefix, its identity and the node hosting it (null: not behind one). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record IpcacheEntry(String prefix, int identity, String tunnelEndpoint, List<String> flags) {
    }
}
