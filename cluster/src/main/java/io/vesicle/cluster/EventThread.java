package io.vesicle.cluster;

import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The one thread a source delivers its events on (the ordering {@link ClusterState} promises),
 * which also runs its retries: a daemon, and nothing delayed runs after shutdown.
 */
public final class EventThread {
    private EventThread() {
    }

    public static ScheduledThreadPoolExecutor named(String name) {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        });
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return executor;
    }
}
