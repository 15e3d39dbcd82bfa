package io.vesicle.agent.endpoint;

import java.util.ArrayDeque;
import java.util.LinkedHashSet;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One endpoint's work, in order, one item at a time, on a shared executor. Requests to regenerate
 * that arrive while one is waiting join it: a burst of changes builds once, with every reason.
 * A regeneration that has started is not joined, since it may have read the state already.
 */
final class EndpointQueue {
    private final Executor executor;
    private final Queue<Runnable> pending = new ArrayDeque<>();
    private boolean draining;
    private Regeneration waiting;

    EndpointQueue(Executor executor) {
        this.executor = executor;
    }

    /** A regeneration not yet started, and the reasons asked for it. */
    private static final class Regeneration {
        final Set<String> reasons = new LinkedHashSet<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();
    }

    /** Runs build with the reasons once every earlier item is done, joining a waiting regeneration. */
    synchronized CompletableFuture<Void> regenerate(String reason, Function<Set<String>, Void> build) {
        if (waiting != null) {
            waiting.reasons.add(reason);
            return waiting.done;
        }
        Regeneration r = new Regeneration();
        r.reasons.add(reason);
        waiting = r;
        enqueue(() -> {
            Set<String> reasons;
            synchronized (this) {
                waiting = null;
                reasons = Set.copyOf(r.reasons);
            }
            try {
                build.apply(reasons);
                r.done.complete(null);
            } catch (Throwable t) {
                r.done.completeExceptionally(t);
            }
        });
        return r.done;
    }

    /** Runs task once every earlier item is done. */
    <T> CompletableFuture<T> submit(Supplier<T> task) {
        CompletableFuture<T> done = new CompletableFuture<>();
        enqueue(() -> {
            try {
                done.complete(task.get());
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    private synchronized void enqueue(Runnable item) {
        pending.add(item);
        if (!draining) {
            draining = true;
            executor.execute(this::drain);
        }
    }

    private void drain() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = pending.poll();
                if (next == null) {
                    draining = false;
                    return;
                }
            }
            next.run();
        }
    }
}
