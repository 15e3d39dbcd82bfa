package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ADD/DEL cycles as a container runtime drives them, with the agent killed (SIGKILL) at random
 * moments inside requests and restarted; the runtime retries DEL until it succeeds, as CNI
 * requires. Afterwards nothing may be left: no veth, state file, address or map entry.
 */
class AgentChaosIT extends AgentProcessSupport {
    @Test
    void addDelCyclesWithTheAgentKilledAtRandom() throws Exception {
        int cycles = Integer.getInteger("vesicle.chaos.cycles", 60);
        long seed = Long.getLong("vesicle.chaos.seed", System.nanoTime());
        Random random = new Random(seed);
        startAgent();
        List<String> pods = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            pods.add(ns.namespace("k" + i));
        }
        int kills = 0;
        int added = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            String containerID = "chaos" + cycle;
            String pod = pods.get(cycle % pods.size());
            boolean kill = random.nextInt(3) == 0;
            boolean duringAdd = random.nextBoolean();
            if (kill && duringAdd) {
                killSoon(random.nextInt(12));
            }
            boolean ok;
            try {
                Messages.Endpoint e = create(containerID, pod);
                ok = true;
                added++;
                assertEquals(containerID, e.containerID());
            } catch (AgentClient.UnavailableException | AgentClient.ApiException e) {
                ok = false;
            }
            if (kill) {
                kills++;
                if (!duringAdd) {
                    killSoon(random.nextInt(12));
                }
            }
            if (ok && !kill && agent.isAlive()) {
                assertTrue(client.checkEndpoint(containerID, "eth0").ok());
            }
            del(containerID);
            try (NetNs p = NetNs.named(pod)) {
                assertTrue(Netlink.link(p, "eth0").isEmpty(), "cycle " + cycle + " (seed " + seed + ") left eth0");
            }
        }
        System.out.printf("chaos: %d cycles, %d ADDs succeeded, %d kills (seed %d)%n", cycles, added, kills, seed);
        ensureAgent();
        client.gc(new Messages.GcRequest(List.of()));
        assertNothingLeft();
        assertFalse(kills == 0 && cycles >= 30, "the seed should have killed the agent at least once");
    }

    /** SIGKILL after delayMillis, from another thread, while a request may be running. */
    void killSoon(int delayMillis) {
        Process victim = agent;
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                return;
            }
            victim.destroyForcibly();
        });
        killer.start();
    }

    /** DEL as a runtime does it: retried until the agent answers 200, restarting a dead agent. */
    void del(String containerID) throws Exception {
        for (int attempt = 0; attempt < 20; attempt++) {
            ensureAgent();
            try {
                client.deleteEndpoint(containerID, "eth0");
                return;
            } catch (AgentClient.UnavailableException | AgentClient.ApiException e) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError("DEL of " + containerID + " never succeeded");
    }

    void ensureAgent() throws Exception {
        Thread.sleep(15); // let a pending kill land first
        if (!agent.isAlive() || agent.waitFor(1, TimeUnit.MILLISECONDS)) {
            startAgent();
        }
    }
}
