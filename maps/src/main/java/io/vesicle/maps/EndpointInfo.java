package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Value of both endpoint maps ({@code struct endpoint_info}): where a local pod lives and who it is.
 *
 * @param address     the pod's IPv4 address
 * @param ifindex     the host-side veth in the node's namespace
 * @param endpointId  the agent's endpoint id
 * @param identity    the security identity
 * @param flags       {@code ENDPOINT_F_*}
 * @param mac         the pod interface's MAC
 * @param nodeMac     the host-side veth's MAC: the pod's router
 */
public record EndpointInfo(Inet4Address address, int ifindex, int endpointId, int identity, int flags,
                           MacAddress mac, MacAddress nodeMac) {
    public EndpointInfo {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(nodeMac, "nodeMac");
    }

    public static final Codec<EndpointInfo> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("endpoint_info", 32,
                field("ip4", 0, 4), field("ifindex", 4, 4), field("endpoint_id", 8, 4),
                field("identity", 12, 4), field("flags", 16, 4), field("mac", 20, 6),
                field("node_mac", 26, 6));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(EndpointInfo info, ByteBuffer buffer, int offset) {
            Ip4.write(info.address, buffer, offset);
            buffer.putInt(offset + 4, info.ifindex);
            buffer.putInt(offset + 8, info.endpointId);
            buffer.putInt(offset + 12, info.identity);
            buffer.putInt(offset + 16, info.flags);
            info.mac.writeTo(buffer, offset + 20);
            info.nodeMac.writeTo(buffer, offset + 26);
        }

        @Override
        public EndpointInfo read(ByteBuffer buffer, int offset) {
            return new EndpointInfo(Ip4.read(buffer, offset), buffer.getInt(offset + 4),
                    buffer.getInt(offset + 8), buffer.getInt(offset + 12), buffer.getInt(offset + 16),
                    MacAddress.readFrom(buffer, offset + 20), MacAddress.readFrom(buffer, offset + 26));
        }
    };
}
