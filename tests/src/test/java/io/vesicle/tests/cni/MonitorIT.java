package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Repo;
import io.vesicle.tests.support.Shell;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The datapath's events through the agent to an operator: a spoofed packet sent from a real pod
 * (its source bound with IP_TRANSPARENT, so the kernel sends what the pod asked) appears in
 * {@code vesicle monitor} with its 5-tuple and reason; filters; a reader too slow to keep up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class MonitorIT extends CniNodeFixture {
    static final String SPOOFED = "10.244.1.250";
    CniNode.Pod a;
    CniNode.Pod b;
    String addressA;
    String addressB;

    @BeforeAll
    void wirePods() {
        a = node.pod("a");
        b = node.pod("b");
        addressA = CniNode.address(runtime.add(list, a.eth0()));
        addressB = CniNode.address(runtime.add(list, b.eth0()));
        assertTrue(Shell.awaitPing(a.netns(), addressB, Duration.ofSeconds(10)), "a reaches b");
    }

    /** Sends count UDP datagrams from pod a claiming SPOOFED:sport, to b:dport. */
    void sendSpoofed(int sport, int dport, int count) {
        String script = "import socket\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT: send from a source the pod does not have\n"
                + "s.bind(('" + SPOOFED + "', " + sport + "))\n"
                + "for i in range(" + count + "):\n"
                + "    s.sendto(b'spoofed', ('" + addressB + "', " + dport + "))\n";
        Shell.run(60, Shell.inNetns(a.netns(), "python3", "-c", script)).orThrow(List.of("python3 spoofer"));
    }

    AgentClient client() {
        return node.agent().client();
    }

    int subscribers() {
        return client().events().subscribers();
    }

    @Test
    void theCliShowsASpoofedPacketsDropWithinOneSecondWithItsFiveTupleAndReason() throws Exception {
        int before = subscribers();
        List<String> command = new ArrayList<>(Shell.inNetns(node.netns(), Repo.vesicle().toString(), "monitor",
                "--type", "drop", "--port", "5201", "-o", "json", "--count", "1", "--api-socket",
                node.agent().socket().toString()));
        Process monitor = network.own(new ProcessBuilder(command).redirectErrorStream(true).start());
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        CompletableFuture.runAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(monitor.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    lines.add(line);
                }
            } catch (Exception e) {
                lines.add("read failed: " + e);
            }
        });
        try {
            Poll.until("the monitor subscribed", Duration.ofSeconds(30), () -> subscribers() > before);
            sendSpoofed(40000, 5201, 1);
            long sent = System.nanoTime();
            String line = lines.poll(1, TimeUnit.SECONDS);
            double millis = (System.nanoTime() - sent) / 1e6;
            assertNotNull(line, "no event within 1 s of the packet");
            System.out.printf("monitor: the drop arrived %.1f ms after the packet was sent%n", millis);
            JsonNode event = CniRuntime.JSON.readTree(line);
            assertEquals("drop", event.path("type").asText(), line);
            assertEquals("dropped", event.path("verdict").asText());
            assertEquals("invalid_source_ip", event.path("reason").asText());
            assertEquals("egress", event.path("direction").asText());
            assertEquals(SPOOFED, event.path("source").asText());
            assertEquals(40000, event.path("sourcePort").asInt());
            assertEquals(addressB, event.path("destination").asText());
            assertEquals(5201, event.path("destinationPort").asInt());
            assertEquals("UDP", event.path("protocol").asText());
            assertEquals("default/a", event.path("pod").asText(), "the sending pod");
            Messages.Endpoint endpointA = client().endpoint(a.containerID(), "eth0").orElseThrow();
            assertEquals(endpointA.id(), event.path("endpoint").asInt());
            Duration age = Duration.between(Instant.parse(event.path("time").asText()), Instant.now());
            assertTrue(age.abs().compareTo(Duration.ofSeconds(5)) < 0, "the event's time is the packet's: " + age);
            assertTrue(monitor.waitFor(30, TimeUnit.SECONDS), "--count 1 ends the monitor");
            assertEquals(0, monitor.exitValue());
        } finally {
            monitor.destroyForcibly();
            network.release(monitor);
        }
    }

    @Test
    void filtersSelectByPortPodAndVerdict() {
        try (AgentClient.MonitorStream byPort = client().monitor("port=6002");
             AgentClient.MonitorStream byPod = client().monitor("pod=default/b&verdict=dropped")) {
            sendSpoofed(40001, 6001, 1);
            sendSpoofed(40002, 6002, 1);
            Messages.MonitorEvent e = nextEvent(byPort);
            assertEquals(6002, e.destinationPort(), "6001 did not match: " + e);
            // a's spoofed packets are a's (its endpoint), not b's: only b's own drops reach byPod.
            String script = "import socket\n"
                    + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    + "s.setsockopt(socket.SOL_IP, 19, 1)\n"
                    + "s.bind(('" + SPOOFED + "', 40003))\n"
                    + "s.sendto(b'x', ('" + addressA + "', 6003))\n";
            Shell.run(60, Shell.inNetns(b.netns(), "python3", "-c", script)).orThrow(List.of("python3 in b"));
            Messages.MonitorEvent fromB = nextEvent(byPod);
            // b's kernel sends IPv6 of its own (router solicitations), dropped too: b's, but no ports.
            while (!Integer.valueOf(40003).equals(fromB.sourcePort())) {
                assertEquals("default/b", fromB.pod(), fromB.toString());
                assertEquals("dropped", fromB.verdict());
                fromB = nextEvent(byPod);
            }
            assertEquals("default/b", fromB.pod());
            assertEquals(addressA, fromB.destination());
        }
        AgentClient.ApiException bad = org.junit.jupiter.api.Assertions.assertThrows(AgentClient.ApiException.class,
                () -> client().monitor("verdict=maybe"));
        assertEquals(400, bad.status());
        assertEquals("verdict", bad.field());
        AgentClient.ApiException noPod = org.junit.jupiter.api.Assertions.assertThrows(AgentClient.ApiException.class,
                () -> client().monitor("pod=default/nobody"));
        assertEquals(404, noPod.status());
    }

    /** The next datapath event (heartbeats skipped), within 20 s. */
    static Messages.MonitorEvent nextEvent(AgentClient.MonitorStream s) {
        CompletableFuture<Messages.MonitorEvent> next = CompletableFuture.supplyAsync(() -> {
            for (Messages.MonitorEvent e = s.next(); e != null; e = s.next()) {
                if (e.isEvent()) {
                    return e;
                }
            }
            return null;
        });
        try {
            return next.get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            s.close();
            throw new AssertionError("no event within 20 s", e);
        }
    }

    @Test
    void aReaderThatFallsBehindLosesEventsCountedWhileTheDatapathGoesOn() throws Exception {
        int floods = 20_000;
        long dropsBefore = drops();
        Messages.EventsStatus before = client().events();
        long received = 0;
        long lost = 0;
        try (AgentClient.MonitorStream stream = client().monitor("port=7001")) {
            sendSpoofed(40004, 7001, floods); // nobody reads meanwhile: the stream's queue overflows
            long dropped = drops() - dropsBefore;
            assertEquals(floods, dropped, "every spoofed packet dropped and counted");
            Messages.EventsStatus after = client().events();
            long lostInDatapath = after.lostInDatapath().get("drop") - before.lostInDatapath().get("drop");
            // Read until every drop is accounted for: received, or lost by this stream or the ring.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (received + lost + lostInDatapath < floods && System.nanoTime() < deadline) {
                Messages.MonitorEvent e = stream.next();
                if (e == null) {
                    break;
                }
                if (e.type().equals("lost")) {
                    lost += e.lost();
                } else if (e.isEvent()) {
                    received++;
                }
            }
            System.out.printf("monitor: %d drops, %d received, %d lost by the slow reader, %d lost in the ring%n",
                    floods, received, lost, lostInDatapath);
            assertEquals(floods, received + lost + lostInDatapath, "every drop received or counted lost");
            assertTrue(lost > 0, "the reader fell behind: its queue holds " + 4096);
        }
    }

    /** Packets dropped for a spoofed source so far, as the agent sums the counters. */
    long drops() {
        long n = 0;
        for (Messages.Counter c : client().call("GET", io.vesicle.api.ApiPaths.DATAPATH_METRICS, null,
                Messages.Counter[].class)) {
            if (c.reason().equals("invalid_source_ip")) {
                n += c.packets();
            }
        }
        return n;
    }
}
