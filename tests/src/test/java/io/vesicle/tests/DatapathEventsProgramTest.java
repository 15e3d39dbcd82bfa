package io.vesicle.tests;

import static io.vesicle.tests.FromContainerProgramTest.DST_IP;
import static io.vesicle.tests.FromContainerProgramTest.SRC_IP;
import static io.vesicle.tests.FromContainerProgramTest.ip;
import static io.vesicle.tests.support.Packets.ETH_P_IPV6;
import static io.vesicle.tests.support.Packets.ethernet;
import static io.vesicle.tests.support.Packets.udp4;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.loader.RingBuffer;
import io.vesicle.maps.DatapathEvent;
import io.vesicle.maps.Direction;
import io.vesicle.maps.EventType;
import io.vesicle.maps.EventsConfig;
import io.vesicle.maps.EventsMaps;
import io.vesicle.maps.Reason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The events from_container sends, through BPF_PROG_TEST_RUN on private maps (the sender is
 * endpoint 1, identity 256, on loopback; DST_IP is endpoint 2, identity 257).
 */
@Timeout(120)
class DatapathEventsProgramTest {
    static final byte[] SPOOFED_IP = {10, (byte) 199, 0, 99};
    static final int UDP = 17;

    private final FromContainerProgramTest datapath = new FromContainerProgramTest();
    private EventsMaps events;
    private RingBuffer ring;

    @BeforeEach
    void load() throws Exception {
        datapath.load();
        events = datapath.maps.events();
        ring = RingBuffer.open(events.ring(), DatapathEvent.CODEC.size());
    }

    @AfterEach
    void close() {
        ring.close();
        datapath.close();
    }

    private List<DatapathEvent> drain() {
        List<DatapathEvent> read = new ArrayList<>();
        while (ring.drain((batch, offset, length) -> read.add(DatapathEvent.CODEC.read(batch, offset))) > 0) {
            // until the ring is empty
        }
        return read;
    }

    @Test
    void aSpoofedPacketIsNotifiedWithItsFiveTupleReasonEndpointAndIdentities() throws Exception {
        events.configure(new EventsConfig(true, false, false, 1));
        byte[] frame = datapath.fromSource(udp4(SPOOFED_IP, DST_IP, 64, 32));
        assertEquals(FromContainerProgramTest.TC_ACT_SHOT, datapath.run(frame).retval());

        List<DatapathEvent> read = drain();
        assertEquals(1, read.size(), "events: " + read);
        DatapathEvent e = read.get(0);
        assertEquals(EventType.DROP, e.type());
        assertEquals(Reason.INVALID_SOURCE_IP, e.reason());
        assertEquals(Direction.EGRESS, e.direction());
        assertEquals(4, e.family());
        assertEquals(ip(SPOOFED_IP), e.source());
        assertEquals(ip(DST_IP), e.destination());
        assertEquals(UDP, e.protocol());
        assertEquals(40000, e.sourcePort());
        assertEquals(5201, e.destinationPort());
        assertEquals(1, e.endpointId(), "the sending endpoint");
        assertEquals(256, e.sourceIdentity(), "the sender's identity, not the spoofed address's");
        assertEquals(257, e.destinationIdentity());
        assertEquals(FromContainerProgramTest.LOOPBACK, e.ifindex());
        assertEquals(frame.length, e.length());
        assertTrue(e.timestampNanos() > 0);
    }

    @Test
    void aFrameThatIsNoIpv4IsNotifiedWithoutAddresses() {
        events.configure(new EventsConfig(true, false, false, 1));
        byte[] frame = ethernet(FromContainerProgramTest.SRC_ROUTER_MAC.bytes(),
                FromContainerProgramTest.SRC_MAC.bytes(), ETH_P_IPV6, new byte[40]);
        datapath.run(frame);

        List<DatapathEvent> read = drain();
        assertEquals(1, read.size());
        assertEquals(Reason.UNSUPPORTED_L3, read.get(0).reason());
        assertEquals(0, read.get(0).family());
        assertEquals(1, read.get(0).endpointId());
        assertEquals(0, read.get(0).destinationPort());
    }

    @Test
    void nothingIsSentWhileEventsAreOffButDropsAreStillCounted() {
        events.configure(EventsConfig.OFF);
        datapath.run(datapath.fromSource(udp4(SPOOFED_IP, DST_IP, 64, 32)));
        datapath.run(datapath.fromSource(udp4(SRC_IP, DST_IP, 64, 32)));
        assertEquals(List.of(), drain());
        assertEquals(1, datapath.count(Reason.INVALID_SOURCE_IP));
    }

    @Test
    void forwardedPacketsAreTracedOnlyWhenTracesAreOnAndThenOneInN() throws Exception {
        byte[] forwarded = datapath.fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        events.configure(new EventsConfig(true, false, false, 1));
        datapath.run(forwarded);
        assertEquals(List.of(), drain(), "drops only: no traces");

        events.configure(new EventsConfig(false, true, false, 1));
        datapath.run(forwarded);
        List<DatapathEvent> every = drain();
        assertEquals(1, every.size());
        assertEquals(EventType.TRACE, every.get(0).type());
        assertEquals(Reason.FORWARDED, every.get(0).reason());
        assertEquals(ip(DST_IP), every.get(0).destination());

        events.configure(new EventsConfig(false, true, false, 4));
        for (int i = 0; i < 4000; i++) {
            datapath.run(forwarded); // one by one: repeated runs share an skb, which the first rewrites
        }
        int sampled = drain().size();
        // 1 in 4 of 4,000: 1,000 expected; outside 700..1,300 has a probability far below 1e-15.
        assertTrue(sampled > 700 && sampled < 1300, "sampled " + sampled + " of 4000 at 1 in 4");
    }

    @Test
    void aFullRingNeverStopsThePacketAndCountsWhatItLost() {
        events.configure(new EventsConfig(true, false, false, 1));
        int runs = 50_000; // more than the 2 MiB ring holds (48 + 8 bytes each: 37,449)
        byte[] spoofed = datapath.fromSource(udp4(SPOOFED_IP, DST_IP, 64, 32));
        assertEquals(FromContainerProgramTest.TC_ACT_SHOT, datapath.program.testRun(spoofed, 0, runs).retval());

        long lost = events.lost().get(EventType.DROP);
        int read = drain().size();
        assertTrue(lost > 0, "lost " + lost);
        assertEquals(runs, read + lost, "every drop either in the ring or counted lost");
        assertEquals(runs, datapath.count(Reason.INVALID_SOURCE_IP), "every drop counted");
    }
}
