package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.Messages;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/vesicle agent} killed with SIGKILL and restarted while pods talk, stopped with SIGTERM,
 * refusing a bad configuration; and how long it takes to create an endpoint.
 */
class AgentProcessIT extends AgentProcessSupport {
    @Test
    void survivesSigkillWithoutDroppingTrafficAndStopsCleanlyOnSigterm() throws Exception {
        startAgent();
        String podA = ns.namespace("a");
        String podB = ns.namespace("b");
        Messages.Endpoint a = create("ca", podA);
        Messages.Endpoint b = create("cb", podB);
        assertTrue(TestNamespaces.ping(podA, ip(b)));

        // 4 s of pings at 50 ms and a TCP stream while the agent is killed and restarted.
        Process server = spawn(TestNamespaces.in(podB, "iperf3", "-s", "-1", "-p", "5201"));
        Thread.sleep(300);
        Process stream = spawn(TestNamespaces.in(podA, "iperf3", "-c", ip(b), "-p", "5201", "-t", "4", "-i", "0"));
        Process ping = spawn(TestNamespaces.in(podA, "ping", "-i", "0.05", "-c", "80", "-W", "1", ip(b)));
        Thread.sleep(500);
        agent.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
        assertTrue(agent.waitFor(10, TimeUnit.SECONDS));
        assertTrue(Files.exists(socket), "a killed agent leaves its socket file");
        Thread.sleep(300);
        startAgent(); // replaces the stale socket
        assertEquals(List.of(a, b), client.endpoints(), "every endpoint restored");
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        String pings = new String(ping.getInputStream().readAllBytes());
        assertTrue(ping.waitFor(30, TimeUnit.SECONDS));
        assertTrue(pings.contains("80 received") && pings.contains(" 0% packet loss"), pings);
        String iperf = new String(stream.getInputStream().readAllBytes());
        assertTrue(stream.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, stream.exitValue(), iperf);
        assertTrue(iperf.contains("receiver"), iperf);
        assertTrue(server.waitFor(10, TimeUnit.SECONDS));

        agent.destroy(); // SIGTERM
        assertTrue(agent.waitFor(20, TimeUnit.SECONDS));
        assertFalse(Files.exists(socket), "a stopped agent removes its socket");
        assertTrue(TestNamespaces.ping(podA, ip(b)), "the datapath stays for running pods");
        assertTrue(Files.readString(log).contains("agent: stopped"));

        startAgent();
        assertEquals(List.of(a, b), client.endpoints());
        assertTrue(client.deleteEndpoint("ca", "eth0").deleted());
        assertTrue(client.deleteEndpoint("cb", "eth0").deleted());
        assertNothingLeft();
    }

    @Test
    void badConfigurationExitsTwoNamingKeyAndFile() throws Exception {
        Files.writeString(configFile, "podCIDR: 10.202.0.0/24\nmtu: huge\n");
        Process bad = new ProcessBuilder(agentCommand()).redirectErrorStream(true).start();
        String output = new String(bad.getInputStream().readAllBytes());
        assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, bad.exitValue(), output);
        assertTrue(output.contains("mtu") && output.contains(configFile.toString()), output);
    }

    /** Agent-side time of PUT /v1/endpoints, from the agent's own log, and the client's round trip. */
    @Test
    void endpointCreationTime() throws Exception {
        int count = Integer.getInteger("vesicle.bench.creates", 100);
        startAgent();
        List<String> pods = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            pods.add(ns.namespace("b" + i));
        }
        long[] roundTrips = new long[count];
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            create("bench" + i, pods.get(i));
            roundTrips[i] = System.nanoTime() - start;
        }
        List<Double> agentSide = new ArrayList<>();
        Matcher m = Pattern.compile("PUT /v1/endpoints 200 in ([0-9.]+) ms").matcher(Files.readString(log));
        while (m.find()) {
            agentSide.add(Double.parseDouble(m.group(1)));
        }
        assertEquals(count, agentSide.size());
        double[] agentMs = agentSide.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] clientMs = Arrays.stream(roundTrips).mapToDouble(n -> n / 1e6).sorted().toArray();
        System.out.printf("endpoint creation over %d creates: agent-side p50 %.2f ms, p99 %.2f ms;"
                        + " client round trip p50 %.2f ms, p99 %.2f ms%n", count, percentile(agentMs, 50),
                percentile(agentMs, 99), percentile(clientMs, 50), percentile(clientMs, 99));
        assertEquals(count, client.gc(new Messages.GcRequest(List.of())).removed().size());
        assertNothingLeft();
    }

}
