package io.vesicle.tests.support;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * How long a change in the store takes to reach each node's kernel state: one watcher thread per
 * node, started before the change is made, polls the node (bpftool, ip: the kernel's view) and
 * notes the first moment its condition holds; the delay is that moment less the moment the
 * test's own etcd watch read the event. The resolution is one poll (one bpftool exec, some ms);
 * a delay can come out negative when an agent's watch beat the test's.
 */
public final class Propagation {
    private final List<Topology.Node> nodes;
    private final List<CompletableFuture<Long>> reached = new ArrayList<>();
    private final String what;

    private Propagation(String what, List<Topology.Node> nodes, Predicate<Topology.Node> condition,
                        Duration within) {
        this.what = what;
        this.nodes = nodes;
        for (Topology.Node node : nodes) {
            CompletableFuture<Long> at = new CompletableFuture<>();
            reached.add(at);
            Thread watcher = new Thread(() -> {
                long deadline = System.nanoTime() + within.toNanos();
                try {
                    while (System.nanoTime() < deadline) {
                        if (condition.test(node)) {
                            at.complete(System.nanoTime());
                            return;
                        }
                        Thread.sleep(5);
                    }
                    at.completeExceptionally(new AssertionError(what + " on " + node + ": not within " + within));
                } catch (Throwable e) {
                    at.completeExceptionally(e);
                }
            }, "propagation-" + node.name());
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    /** Starts watching each node for condition (before the change is made), for at most within. */
    public static Propagation watch(String what, List<Topology.Node> nodes, Predicate<Topology.Node> condition,
                                    Duration within) {
        return new Propagation(what, nodes, condition, within);
    }

    /** Waits for every node; returns each node's delay in ms after eventNanos (System.nanoTime()). */
    public List<Double> delaysAfter(long eventNanos) {
        List<Double> delays = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            try {
                long at = reached.get(i).get(120, TimeUnit.SECONDS);
                delays.add((at - eventNanos) / 1e6);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof AssertionError a ? a : new AssertionError(what, e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (TimeoutException e) {
                throw new AssertionError(what + " on " + nodes.get(i) + ": the watcher never ended", e);
            }
        }
        return delays;
    }

    /** "n=8 min 12.3 p50 40.1 max 95.0 ms" of the delays. */
    public static String summary(List<Double> delays) {
        if (delays.isEmpty()) {
            return "n=0";
        }
        List<Double> sorted = delays.stream().sorted().toList();
        return String.format(Locale.ROOT, "n=%d min %.1f p50 %.1f max %.1f ms", sorted.size(), sorted.get(0),
                sorted.get((sorted.size() - 1) / 2), sorted.get(sorted.size() - 1));
    }
}
