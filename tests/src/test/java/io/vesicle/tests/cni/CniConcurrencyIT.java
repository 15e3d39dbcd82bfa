package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Eight pods ADDed at once, as a runtime starting a burst of pods does, then DELed at once. */
class CniConcurrencyIT extends CniNodeFixture {
    static final int PARALLEL = 8;

    ExecutorService pool;

    @BeforeEach
    void setUp() {
        pool = Executors.newFixedThreadPool(PARALLEL);
    }

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    @Test
    void eightParallelAddsThenEightParallelDels() throws Exception {
        List<CniNode.Pod> pods = new ArrayList<>();
        for (int i = 0; i < PARALLEL; i++) {
            pods.add(node.pod("p" + i));
        }

        CountDownLatch go = new CountDownLatch(1);
        List<Future<JsonNode>> adds = new ArrayList<>();
        for (CniNode.Pod pod : pods) {
            adds.add(pool.submit(() -> {
                go.await();
                return runtime.add(list, pod.eth0());
            }));
        }
        long start = System.nanoTime();
        go.countDown();
        List<String> addresses = new ArrayList<>();
        for (Future<JsonNode> add : adds) {
            addresses.add(CniNode.address(add.get()));
        }
        System.out.printf("%d parallel ADDs done in %.0f ms: %s%n", PARALLEL, (System.nanoTime() - start) / 1e6,
                addresses);

        assertEquals(PARALLEL, new HashSet<>(addresses).size(), "distinct addresses: " + addresses);
        List<String> names = pods.stream().map(CniNode.Pod::netns).toList();
        NodeCensus census = NodeCensus.take(node.agent(), names, null);
        System.out.println(census);
        assertTrue(census.holds(PARALLEL), census.toString());
        for (int i = 0; i < PARALLEL; i++) {
            assertTrue(Shell.check("ip", "-n", pods.get(i).netns(), "-o", "-4", "addr", "show", "dev", "eth0")
                    .contains(" " + addresses.get(i) + "/"));
        }
        // From the first pod to every other one.
        for (int i = 1; i < PARALLEL; i++) {
            assertTrue(Shell.awaitPing(pods.get(0).netns(), addresses.get(i), Duration.ofSeconds(5)),
                    "p0 -> " + addresses.get(i));
        }
        for (CniNode.Pod pod : pods) {
            runtime.check(list, pod.eth0());
        }

        CountDownLatch del = new CountDownLatch(1);
        List<Future<Object>> dels = new ArrayList<>();
        for (CniNode.Pod pod : pods) {
            dels.add(pool.submit(() -> {
                del.await();
                runtime.del(list, pod.eth0());
                return null;
            }));
        }
        del.countDown();
        for (Future<Object> d : dels) {
            d.get();
        }
        NodeCensus after = NodeCensus.take(node.agent(), names, null);
        System.out.println("after 8 parallel DELs:\n" + after);
        assertTrue(after.empty(), after.toString());
    }
}
