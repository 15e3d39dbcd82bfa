package io.vesicle.agent.datapath;

import io.vesicle.loader.RingBuffer;
import io.vesicle.maps.DatapathEvent;
import io.vesicle.maps.EventType;
import io.vesicle.maps.EventsConfig;
import io.vesicle.maps.EventsMaps;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the datapath's event ring on one thread and hands each event to the subscribers whose
 * filter it matches. Nothing here waits on a subscriber: each has a bounded queue, and an event
 * that finds it full is counted lost for that subscriber. The ring itself never waits on this
 * reader either (the datapath counts what it had no room for). The reader sleeps in epoll
 * between events; it wakes at least every {@link #POLL} to notice {@link #close()}.
 */
public final class EventMonitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventMonitor.class);
    static final Duration POLL = Duration.ofMillis(100);

    private final EventsMaps maps;
    private final RingBuffer ring;
    private final Thread reader;
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLongArray readByType = new AtomicLongArray(EventType.values().length + 1);
    private final AtomicLong lostBySubscribers = new AtomicLong();
    /** Wall-clock nanoseconds minus CLOCK_MONOTONIC's (which System.nanoTime and the datapath use). */
    private final long wallMinusMonotonic;
    private volatile boolean running = true;

    private EventMonitor(EventsMaps maps) {
        this.maps = maps;
        this.ring = RingBuffer.open(maps.ring(), DatapathEvent.CODEC.size());
        Instant now = Instant.now();
        this.wallMinusMonotonic = now.getEpochSecond() * 1_000_000_000L + now.getNano() - System.nanoTime();
        this.reader = new Thread(this::run, "vesicle-events");
        this.reader.setDaemon(true);
    }

    /**
     * Starts reading datapath's events. initial applies only to a switch never set before: what an
     * operator chose stays through agent restarts (the map is pinned).
     */
    public static EventMonitor start(Datapath datapath, EventSettings initial) {
        EventMonitor monitor = new EventMonitor(datapath.maps().events());
        if (!datapath.maps().events().configured()) {
            monitor.configure(initial);
        }
        monitor.reader.start();
        LOG.info("events: reading {} ({})", datapath.maps().events().ring().name(), monitor.settings());
        return monitor;
    }

    public EventSettings settings() {
        EventsConfig c = maps.config();
        return new EventSettings(c.drops(), c.traces(), c.policyVerdicts(), c.traceSample());
    }

    /** The datapath applies it from its next packet. */
    public void configure(EventSettings s) {
        maps.configure(new EventsConfig(s.drops(), s.traces(), s.policyVerdicts(), s.traceSample()));
    }

    /**
     * What was read and lost so far.
     *
     * @param read              events read from the ring, by type label
     * @param lostInDatapath    events the ring had no room for, by type label (since the map was created)
     * @param lostBySubscribers events a subscriber's full queue refused, all subscribers together
     */
    public record Stats(Map<String, Long> read, Map<String, Long> lostInDatapath, long lostBySubscribers,
                        int subscribers, long oversized) {
    }

    public Stats stats() {
        Map<String, Long> read = new LinkedHashMap<>();
        Map<String, Long> lost = new LinkedHashMap<>();
        for (Map.Entry<EventType, Long> e : new EnumMap<>(maps.lost()).entrySet()) {
            read.put(e.getKey().label(), readByType.get(e.getKey().code()));
            lost.put(e.getKey().label(), e.getValue());
        }
        return new Stats(read, lost, lostBySubscribers.get(), subscribers.size(), ring.oversized());
    }

    /**
     * A new subscriber of the events filter matches, queueing at most capacity of them; close it
     * when done.
     */
    public Subscription subscribe(EventFilter filter, int capacity) {
        Subscription s = new Subscription(filter, capacity);
        subscribers.add(s);
        return s;
    }

    /** One subscriber's queue. Taken from by one thread. */
    public final class Subscription implements AutoCloseable {
        private final EventFilter filter;
        private final ArrayBlockingQueue<FlowEvent> queue;
        private final AtomicLong lost = new AtomicLong();

        private Subscription(EventFilter filter, int capacity) {
            this.filter = filter;
            this.queue = new ArrayBlockingQueue<>(capacity);
        }

        void offer(FlowEvent e) {
            if (filter.test(e) && !queue.offer(e)) {
                lost.incrementAndGet();
                lostBySubscribers.incrementAndGet();
            }
        }

        /** The next event, or null when none came within timeout. */
        public FlowEvent poll(Duration timeout) throws InterruptedException {
            return queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        /** Moves up to max queued events into into, without waiting; how many. */
        public int drainTo(List<FlowEvent> into, int max) {
            return queue.drainTo(into, max);
        }

        /** Events this subscriber's full queue refused so far. */
        public long lost() {
            return lost.get();
        }

        @Override
        public void close() {
            subscribers.remove(this);
        }
    }

    private void run() {
        RingBuffer.RecordConsumer consumer = this::dispatch;
        while (running) {
            try {
                ring.poll(POLL, consumer);
            } catch (RuntimeException e) {
                LOG.error("events: reading the ring failed; no more events: {}", e.toString());
                return;
            }
        }
    }

    private void dispatch(ByteBuffer batch, int offset, int length) {
        int type = batch.get(offset + 8);
        if (type > 0 && type < readByType.length()) {
            readByType.incrementAndGet(type);
        }
        if (subscribers.isEmpty()) {
            return; // decoding costs more than the read: only for someone
        }
        FlowEvent event;
        try {
            event = flowEvent(DatapathEvent.CODEC.read(batch, offset));
        } catch (IllegalArgumentException e) {
            return; // a type or direction this build does not know: a newer datapath
        }
        for (Subscription s : subscribers) {
            s.offer(event);
        }
    }

    private FlowEvent flowEvent(DatapathEvent e) {
        boolean ip = e.family() == 4;
        return new FlowEvent(Instant.ofEpochSecond(0, e.timestampNanos() + wallMinusMonotonic), e.type().label(),
                verdict(e), e.reason().label(), e.direction().name().toLowerCase(Locale.ROOT), e.ifindex(),
                e.endpointId(), e.sourceIdentity(), e.destinationIdentity(), ip ? e.source() : null,
                ip ? e.destination() : null, e.protocol(), e.sourcePort(), e.destinationPort(), e.length());
    }

    private static String verdict(DatapathEvent e) {
        switch (e.type()) {
            case DROP:
                return "dropped";
            case POLICY_VERDICT:
                return e.policyVerdict() == DatapathEvent.VERDICT_ALLOW ? "allowed" : "denied";
            default:
                return "forwarded";
        }
    }

    /** Stops the reader (within {@link #POLL}) and unmaps the ring; the datapath goes on sending. */
    @Override
    public void close() {
        running = false;
        try {
            reader.join(POLL.multipliedBy(20).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!reader.isAlive()) {
            ring.close();
        }
        subscribers.clear();
    }
}
