package io.vesicle.agent.api;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * One warning per second at most for an event a client can repeat at will (refused peers, a full
 * server); the next line says how many were left out.
 */
final class ThrottledLog {
    private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final Logger log;
    private final AtomicLong nextNanos = new AtomicLong(System.nanoTime());
    private final AtomicInteger suppressed = new AtomicInteger();

    ThrottledLog(Logger log) {
        this.log = log;
    }

    void warn(Supplier<String> message) {
        long now = System.nanoTime();
        long next = nextNanos.get();
        if (now - next >= 0 && nextNanos.compareAndSet(next, now + INTERVAL_NANOS)) {
            int left = suppressed.getAndSet(0);
            log.warn(message.get() + (left > 0 ? " (and " + left + " more like it in the last second)" : ""));
        } else {
            suppressed.incrementAndGet();
        }
    }
}
