package io.vesicle.agent.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class EndpointQueueTest {
    final ExecutorService pool = Executors.newFixedThreadPool(4);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    @Test
    void requestsThatArriveWhileOneWaitsBuildOnceWithEveryReason() throws Exception {
        EndpointQueue queue = new EndpointQueue(pool);
        CountDownLatch busy = new CountDownLatch(1);
        CompletableFuture<Void> blocker = queue.submit(() -> {
            await(busy);
            return null;
        });
        List<Set<String>> builds = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> asked = new ArrayList<>();
        for (String reason : List.of("labels", "policy", "identity", "policy")) {
            asked.add(queue.regenerate(reason, reasons -> {
                builds.add(reasons);
                return null;
            }));
        }
        for (CompletableFuture<Void> f : asked) {
            assertSame(asked.get(0), f, "every request joined the waiting regeneration");
        }
        busy.countDown();
        blocker.get(10, TimeUnit.SECONDS);
        asked.get(0).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(Set.of("labels", "policy", "identity")), builds);
    }

    @Test
    void aRegenerationThatHasStartedIsNotJoined() throws Exception {
        EndpointQueue queue = new EndpointQueue(pool);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        List<Set<String>> builds = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> first = queue.regenerate("create", reasons -> {
            builds.add(reasons);
            started.countDown();
            await(finish);
            return null;
        });
        assertTrue(started.await(10, TimeUnit.SECONDS));
        CompletableFuture<Void> second = queue.regenerate("policy", reasons -> {
            builds.add(reasons);
            return null;
        });
        assertFalse(second == first, "the running build may have read the old state");
        finish.countDown();
        second.get(10, TimeUnit.SECONDS);
        assertEquals(List.of(Set.of("create"), Set.of("policy")), builds);
    }

    @Test
    void workRunsInOrderOneAtATimeAndAFailureReachesOnlyItsCaller() throws Exception {
        EndpointQueue queue = new EndpointQueue(pool);
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Integer>> done = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int n = i;
            done.add(queue.submit(() -> {
                order.add(n);
                if (n == 7) {
                    throw new IllegalStateException("seven");
                }
                return n;
            }));
        }
        for (CompletableFuture<Integer> f : done) {
            try {
                f.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertEquals("seven", e.getCause().getMessage());
            }
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            expected.add(i);
        }
        assertEquals(expected, order);
        assertThrows(ExecutionException.class, () -> done.get(7).get());
        assertEquals(8, done.get(8).get());
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
