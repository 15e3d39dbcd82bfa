package io.vesicle.agent.endpoint;

import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.ipam.Ipam;
import java.net.Inet4Address;
import java.nio.file.Path;

/**
 * An endpoint as it is at one moment, with its address as the IPAM holds it (null while a create
 * has not got one yet).
 */
public record EndpointView(int id, AttachmentKey key, String network, Path netns, String podNamespace,
                           String podName, String hostIf, String hostMac, String mac, Ipam.Allocation address,
                           Inet4Address gateway, int mtu, int identity, Endpoint.State state) {
    static EndpointView of(Endpoint e, Ipam.Allocation address) {
        return new EndpointView(e.id(), e.key(), e.network(), e.netns(), e.podNamespace(), e.podName(), e.hostIf(),
                e.hostMac(), e.mac(), address, e.gateway(), e.mtu(), e.identity(), e.state());
    }
}
