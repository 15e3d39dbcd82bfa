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

    /** PUT /v1/endpoints. address/gateway come from a delegated IPAM plugin; null = agent IPAM. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CreateEndpoint(String containerID, String ifname, String netns, String podNamespace,
                                 String podName, String address, String gateway) {
    }

    /** An endpoint as the agent keeps it. */
    public record Endpoint(int id, String containerID, String ifname, String netns, String podNamespace,
                           String podName, String hostIf, String hostMac, String mac, String address,
                           String gateway, int mtu, boolean ipamOwned) {
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

    /** POST /v1/gc. */
    public record GcRequest(List<Attachment> valid) {
    }

    public record GcResult(List<Attachment> removed) {
    }

    /** GET /v1/healthz. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Health(String status, String reason) {
    }

    /** The body of every 4xx and 5xx answer. */
    public record ApiError(String error) {
    }
}
