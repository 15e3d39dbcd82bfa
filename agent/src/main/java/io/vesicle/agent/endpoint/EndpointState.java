package io.vesicle.agent.endpoint;

import io.vesicle.agent.ipam.Cidr;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.vesicle.api.Messages;
import java.net.Inet4Address;

/**
 * What the agent keeps of an endpoint, in memory and in its state file. An endpoint is written
 * first as {@link #CREATING} (an intent: enough to undo every step of a create that was cut off)
 * and becomes {@link #READY} once the veth is wired to the datapath.
 *
 * @param address   the pod's address with its prefix length ("10.244.1.5/24"); null in an intent
 *                  whose address the agent IPAM had not handed out yet
 * @param ipamOwned whether the agent IPAM is the address's source (released with the endpoint)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EndpointState(String status, int id, String containerID, String ifname, String netns,
                            String podNamespace, String podName, String hostIf, String hostMac, String mac,
                            String address, String gateway, int mtu, boolean ipamOwned, int identity) {
    public static final String CREATING = "creating";
    public static final String READY = "ready";

    @JsonIgnore
    public boolean ready() {
        return READY.equals(status);
    }

    @JsonIgnore
    public Messages.Attachment key() {
        return new Messages.Attachment(containerID, ifname);
    }

    /** The pod's address without its prefix length; null when there is none yet. */
    @JsonIgnore
    public Inet4Address ip() {
        return address == null ? null : Cidr.parseAddressWithPrefix(address).address();
    }

    public EndpointState withAddress(String cidr) {
        return new EndpointState(status, id, containerID, ifname, netns, podNamespace, podName, hostIf, hostMac, mac,
                cidr, gateway, mtu, ipamOwned, identity);
    }

    public EndpointState asReady(String hostMac, String mac) {
        return new EndpointState(READY, id, containerID, ifname, netns, podNamespace, podName, hostIf, hostMac, mac,
                address, gateway, mtu, ipamOwned, identity);
    }

    public Messages.Endpoint toMessage() {
        return new Messages.Endpoint(id, containerID, ifname, netns, podNamespace, podName, hostIf, hostMac, mac,
                address, gateway, mtu, ipamOwned);
    }
}
