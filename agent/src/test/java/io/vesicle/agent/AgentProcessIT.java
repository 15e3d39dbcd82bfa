package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.Messages;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

}
