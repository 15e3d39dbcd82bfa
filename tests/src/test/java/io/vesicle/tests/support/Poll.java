package io.vesicle.tests.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting for a condition the way the tests wait for readiness: polled, with a deadline. */
public final class Poll {
    /** Between two looks: short next to any deadline, long enough not to spin a core. */
    private static final long INTERVAL_MILLIS = 20;

    private Poll() {
    }

    /** Returns once condition holds; throws naming what did not happen within the bound. */
    public static void until(String what, Duration within, BooleanSupplier condition) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + within);
            }
            try {
                Thread.sleep(INTERVAL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for " + what, e);
            }
        }
    }
}
