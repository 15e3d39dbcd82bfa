package io.vesicle.cluster.etcd;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Holds the event thread once, before its next listing or before it starts a watch, until the
 * test has changed the store: what happens "while the watch is down" without racing it.
 */
final class Gate implements StoreWatch.SyncHooks {
    private volatile boolean holdListing;
    private volatile boolean holdWatch;
    private volatile long watchRevision;
    private final Semaphore entered = new Semaphore(0);
    private final Semaphore released = new Semaphore(0);

    void holdNextListing() {
        holdListing = true;
    }

    void holdNextWatch() {
        holdWatch = true;
    }

    /** Waits until the event thread is held. */
    void awaitHeld(Duration timeout) throws InterruptedException {
        if (!entered.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the event thread did not reach the gate within " + timeout);
        }
    }

    void release() {
        released.release();
    }

    /** The revision the held watch was about to start from. */
    long watchRevision() {
        return watchRevision;
    }

    @Override
    public void beforeListing() {
        if (holdListing) {
            holdListing = false;
            hold();
        }
    }

    @Override
    public void beforeWatch(long fromRevision) {
        if (holdWatch) {
            holdWatch = false;
            watchRevision = fromRevision;
            hold();
        }
    }

    private void hold() {
        entered.release();
        // Bounded so a failed test never leaves the thread parked for good.
        try {
            released.tryAcquire(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
