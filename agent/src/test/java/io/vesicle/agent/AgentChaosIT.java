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
import org.junit.jupiter.api.Timeout;

/**
 * ADD/DEL cycles as a container runtime drives them, with the agent killed (SIGKILL) at random
 * moments inside requests and restarted; the runtime retries DEL until it succeeds, as CNI
 * requires. An ADD may fail only by the agent being killed under it; any answered error (a 5xx
 * above all) fails the test. After every successful DEL, before any GC, nothing may be left: no
 * veth on the node side, no pod interface, no state file, no IPAM allocation, no map entry; at the
 * end a GC has nothing to remove.
 */
class AgentChaosIT extends AgentProcessSupport {
    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
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
            String where = "cycle " + cycle + " (seed " + seed + ")";
            boolean kill = random.nextInt(3) == 0;
            boolean duringAdd = random.nextBoolean();
            Thread killer = kill && duringAdd ? killSoon(random.nextInt(12)) : null;
            boolean ok;
            try {
                Messages.Endpoint e = create(containerID, pod);
                ok = true;
                added++;
                assertEquals(containerID, e.containerID());
            } catch (AgentClient.UnavailableException e) {
                if (killer == null) {
                    throw new AssertionError(where + ": ADD failed without a kill: " + e.getMessage(), e);
                }
                ok = false;
            }
            if (kill) {
                kills++;
                if (killer == null) {
                    killer = killSoon(random.nextInt(12));
                }
            }
            if (ok && killer == null) {
                assertTrue(client.checkEndpoint(containerID, "eth0").ok(), where);
            }
            if (killer != null) {
                killer.join();
            }
            del(containerID, where);
            assertNothingLeft(where);
            try (NetNs p = NetNs.named(pod)) {
                assertTrue(Netlink.link(p, "eth0").isEmpty(), where + " left eth0 in the pod");
            }
        }
        System.out.printf("chaos: %d cycles, %d ADDs succeeded, %d kills (seed %d)%n", cycles, added, kills, seed);
        ensureAgent();
        assertNothingLeft("the end");
        assertEquals(List.of(), client.gc(new Messages.GcRequest(List.of())).removed(), "GC found nothing to remove");
        assertFalse(kills == 0 && cycles >= 30, "the seed should have killed the agent at least once");
    }

    /** SIGKILL after delayMillis, from another thread, while a request may be running. */
    Thread killSoon(int delayMillis) {
        Process victim = agent;
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                return;
            }
            victim.destroyForcibly();
            try {
                victim.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        killer.start();
        return killer;
    }

    /**
     * DEL as a runtime does it: retried while the agent is unreachable, restarting a dead agent,
     * until it answers 200; an answered error fails the test.
     */
    void del(String containerID, String where) throws Exception {
        for (int attempt = 0; attempt < 20; attempt++) {
            ensureAgent();
            try {
                client.deleteEndpoint(containerID, "eth0");
                return;
            } catch (AgentClient.UnavailableException e) {
                // killed under the request: the agent is started again and DEL retried
            } catch (AgentClient.ApiException e) {
                throw new AssertionError(where + ": DEL of " + containerID + " answered " + e.status() + ": "
                        + e.getMessage(), e);
            }
        }
        throw new AssertionError(where + ": DEL of " + containerID + " never succeeded");
    }

    void ensureAgent() throws Exception {
        if (!agent.isAlive()) {
            startAgent();
        }
    }
}
