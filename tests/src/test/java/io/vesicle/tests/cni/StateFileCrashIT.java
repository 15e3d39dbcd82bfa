package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.NodeSnapshot;
import io.vesicle.tests.support.Shell;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Crash durability with the real agent process: two pods wired through the CNI plugin, the agent
 * killed with SIGKILL, then one pod's state file made empty and the other's torn in the middle.
 * Started again, the agent rebuilds both files from the kernel; the pods never lose their network
 * or their addresses, CHECK passes, and DEL leaves the node as before the pods.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StateFileCrashIT extends CniNodeFixture {

    /** Pings from one namespace to an address, one at a time by ping's exit code, until stopped. */
    static final class Pinger implements AutoCloseable {
        final AtomicInteger answered = new AtomicInteger();
        final AtomicInteger lost = new AtomicInteger();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Pinger(String netns, String address) {
            thread = new Thread(() -> {
                while (running.get()) {
                    boolean ok = Shell.run(5, Shell.inNetns(netns, "ping", "-c", "1", "-W", "1", address)).ok();
                    (ok ? answered : lost).incrementAndGet();
                }
            }, "pinger-" + address);
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }

    Path stateFile(Messages.Endpoint e) {
        return node.agent().stateDir().resolve("endpoints").resolve(e.containerID() + "_" + e.ifname() + ".json");
    }

    @Test
    void emptyAndTornStateFilesAfterSigkillAreRebuiltWhilePodsKeepTheirNetwork() throws Exception {
        CniNode.Pod a = node.pod("a");
        CniNode.Pod b = node.pod("b");
        Map<String, String> pods = Map.of("a", a.netnsPath(), "b", b.netnsPath());
        NodeSnapshot before = NodeSnapshot.take(node.agent(), pods);
        String ipA = CniNode.address(runtime.add(list, a.eth0()));
        String ipB = CniNode.address(runtime.add(list, b.eth0()));
        Messages.Endpoint epA = node.agent().client().endpoint(a.containerID(), "eth0").orElseThrow();
        Messages.Endpoint epB = node.agent().client().endpoint(b.containerID(), "eth0").orElseThrow();
        JsonNode fileA = CniRuntime.JSON.readTree(Files.readAllBytes(stateFile(epA)));
        JsonNode fileB = CniRuntime.JSON.readTree(Files.readAllBytes(stateFile(epB)));
        NodeSnapshot wired = NodeSnapshot.take(node.agent(), pods).withoutProgramIds();

        try (Pinger aToB = new Pinger(a.netns(), ipB); Pinger bToA = new Pinger(b.netns(), ipA)) {
            node.agent().kill();
            Files.write(stateFile(epA), new byte[0]);
            byte[] whole = Files.readAllBytes(stateFile(epB));
            Files.write(stateFile(epB), Arrays.copyOf(whole, whole.length / 2));
            node.agent().start();
            runtime.check(list, a.eth0());
            runtime.check(list, b.eth0());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((aToB.answered.get() < 3 || bToA.answered.get() < 3) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            aToB.close();
            bToA.close();
            System.out.printf("pings through the kill and restart: a->b %d answered, %d lost; b->a %d answered, %d"
                    + " lost%n", aToB.answered.get(), aToB.lost.get(), bToA.answered.get(), bToA.lost.get());
            assertTrue(aToB.answered.get() >= 3 && bToA.answered.get() >= 3, "pings went on in both directions");
            assertEquals(0, aToB.lost.get() + bToA.lost.get(), "no ping was lost while the agent was down or"
                    + " restoring");
        }

        assertRebuilt(fileA, stateFile(epA), epA);
        assertRebuilt(fileB, stateFile(epB), epB);
        String corruptA = "file endpoints/" + stateFile(epA).getFileName() + ".corrupt";
        String corruptB = "file endpoints/" + stateFile(epB).getFileName() + ".corrupt";
        NodeSnapshot restored = NodeSnapshot.take(node.agent(), pods).withoutProgramIds();
        NodeSnapshot.assertSame(wired.without("file endpoints/"), restored.without("file endpoints/"),
                "SIGKILL, an empty and a torn state file, a restart");

        runtime.del(list, a.eth0());
        runtime.del(list, b.eth0());
        NodeSnapshot.assertSame(before, NodeSnapshot.take(node.agent(), pods).without(corruptA).without(corruptB),
                "DEL of both restored pods");
    }

    /** The file is whole JSON again and names the same endpoint; the agent tells the same address and MACs. */
    void assertRebuilt(JsonNode original, Path file, Messages.Endpoint before) throws Exception {
        JsonNode rebuilt = CniRuntime.JSON.readTree(Files.readAllBytes(file));
        for (String member : List.of("status", "id", "containerID", "ifname", "hostIf", "hostMac", "mac")) {
            assertEquals(original.path(member), rebuilt.path(member), member + " of the rebuilt " + file);
        }
        assertTrue(Files.isSameFile(Path.of(original.path("netns").asText()), Path.of(rebuilt.path("netns").asText())),
                "netns of the rebuilt " + file + ": " + rebuilt.path("netns") + ", was " + original.path("netns"));
        Messages.Endpoint after = node.agent().client().endpoint(before.containerID(), "eth0").orElseThrow();
        assertEquals(List.of(before.id(), before.address(), before.mac(), before.hostMac(), before.hostIf()),
                List.of(after.id(), after.address(), after.mac(), after.hostMac(), after.hostIf()),
                "the endpoint as the agent tells it after the rebuild");
        assertTrue(Files.exists(file.resolveSibling(file.getFileName() + ".corrupt")), "the damaged file is kept");
    }
}
