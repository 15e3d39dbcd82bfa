package io.vesicle.api;

import java.time.Duration;

/**
 * Runs an action (close a socket, kill a child) when an operation overruns: a sleeping daemon
 * thread, cheaper to start in a one-shot process than an executor.
 */
public final class Deadline extends Thread {
    private final long millis;
    private final Runnable onExpiry;
    private volatile boolean expired;

    private Deadline(Duration timeout, Runnable onExpiry) {
        super("vesicle-deadline");
        setDaemon(true);
        this.millis = timeout.toMillis();
        this.onExpiry = onExpiry;
    }

    public static Deadline start(Duration timeout, Runnable onExpiry) {
        Deadline deadline = new Deadline(timeout, onExpiry);
        deadline.start();
        return deadline;
    }

    @Override
    public void run() {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            return;
        }
        expired = true;
        onExpiry.run();
    }

    /** True once the action ran: the operation failed because it overran. */
    public boolean expired() {
        return expired;
    }

    public void cancel() {
        interrupt();
    }
}
