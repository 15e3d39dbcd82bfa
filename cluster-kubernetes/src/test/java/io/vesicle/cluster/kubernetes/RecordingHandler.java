package io.vesicle.cluster.kubernetes;

import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvents;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Records what a cluster state delivers, when, and on which thread; waits for events with a deadline. */
final class RecordingHandler implements ClusterEvents {
    private static final long WAIT_SECONDS = 20;

    record Received(ClusterEvent event, long nanos) {
    }

    private final List<Received> received = new ArrayList<>();
    private final Set<String> threads = ConcurrentHashMap.newKeySet();
    private int consumed;

    @Override
    public synchronized void on(ClusterEvent event) {
        threads.add(Thread.currentThread().getName());
        received.add(new Received(event, System.nanoTime()));
        notifyAll();
    }

    /**
     * The next event after those already awaited that is of this type and matches, skipping
     * others; fails after the deadline naming what it waited for and what came.
     */
    synchronized <E extends ClusterEvent> Received await(Class<E> type, Predicate<E> match, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (true) {
            for (; consumed < received.size(); consumed++) {
                ClusterEvent event = received.get(consumed).event();
                if (type.isInstance(event) && match.test(type.cast(event))) {
                    return received.get(consumed++);
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no " + what + " within " + WAIT_SECONDS + " s; received: " + events());
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    synchronized List<ClusterEvent> events() {
        return received.stream().map(Received::event).toList();
    }

    /** Everything received from position {@code from} on. */
    synchronized List<ClusterEvent> eventsFrom(int from) {
        return events().subList(from, received.size());
    }

    synchronized int count() {
        return received.size();
    }

    /** Starts awaiting from the current end: earlier events are not matched any more. */
    synchronized void skipAll() {
        consumed = received.size();
    }

    Set<String> threads() {
        return Set.copyOf(threads);
    }
}
