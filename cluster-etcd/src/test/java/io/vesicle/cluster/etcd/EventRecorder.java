package io.vesicle.cluster.etcd;

import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvents;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Records every event with the time it reached the handler, and waits for one with a deadline. */
final class EventRecorder implements ClusterEvents {
    record Recorded(ClusterEvent event, long nanoTime, String threadName) {
    }

    private final List<Recorded> events = new ArrayList<>();

    @Override
    public synchronized void on(ClusterEvent event) {
        events.add(new Recorded(event, System.nanoTime(), Thread.currentThread().getName()));
        notifyAll();
    }

    /** The position of the next event, to wait for events after now. */
    synchronized int mark() {
        return events.size();
    }

    synchronized List<Recorded> since(int mark) {
        return List.copyOf(events.subList(mark, events.size()));
    }

    /** The first event from mark on that matches, waiting up to timeout for it. */
    synchronized Recorded await(int mark, Predicate<ClusterEvent> matches, Duration timeout, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = mark;
        while (true) {
            for (; next < events.size(); next++) {
                if (matches.test(events.get(next).event())) {
                    return events.get(next);
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no event " + what + " within " + timeout + "; got " + since(mark));
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** A recorder's event is one about a node or pod named thus (any kind). */
    static Predicate<ClusterEvent> about(String name) {
        return event -> {
            if (event instanceof ClusterEvent.NodeUpserted e) {
                return e.node().name().equals(name);
            } else if (event instanceof ClusterEvent.NodeDeleted e) {
                return e.name().equals(name);
            } else if (event instanceof ClusterEvent.PodUpserted e) {
                return e.pod().name().equals(name);
            } else if (event instanceof ClusterEvent.PodDeleted e) {
                return e.name().equals(name);
            }
            return false;
        };
    }
}
