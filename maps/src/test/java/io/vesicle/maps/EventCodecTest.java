package io.vesicle.maps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class EventCodecTest {
    @Test
    void anEventSurvivesTheRoundTripWithPortsInNetworkOrder() throws Exception {
        DatapathEvent event = new DatapathEvent(123456789L, EventType.DROP, Reason.INVALID_SOURCE_IP.code(),
                Direction.EGRESS, 4, 17, 0, 42, 7, 5, 2, (Inet4Address) InetAddress.getByName("10.0.0.99"),
                (Inet4Address) InetAddress.getByName("10.0.0.3"), 40000, 53, 74);
        ByteBuffer buffer = ByteBuffer.allocate(64).order(ByteOrder.nativeOrder());
        DatapathEvent.CODEC.write(event, buffer, 8);
        assertEquals(event, DatapathEvent.CODEC.read(buffer, 8));
        assertEquals((byte) (40000 >> 8), buffer.get(8 + 40), "sport's high byte first");
        assertEquals(Reason.INVALID_SOURCE_IP, event.reason());
    }

    @Test
    void eventsConfigFlagsAndSampling() {
        EventsConfig config = new EventsConfig(true, false, true, 100);
        assertEquals(EventsConfig.F_DROP | EventsConfig.F_POLICY_VERDICT, config.flags());
        ByteBuffer buffer = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        EventsConfig.CODEC.write(config, buffer, 0);
        assertEquals(config, EventsConfig.CODEC.read(buffer, 0));
        assertThrows(IllegalArgumentException.class, () -> new EventsConfig(true, true, true, 0));
        assertEquals(EventType.POLICY_VERDICT, EventType.ofLabel("policy-verdict"));
        assertThrows(IllegalArgumentException.class, () -> EventType.ofLabel("drops"));
    }
}
