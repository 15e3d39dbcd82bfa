package io.vesicle.agent.api;

import io.vesicle.agent.datapath.DatapathInspector;
import io.vesicle.agent.datapath.EventFilter;
import io.vesicle.agent.datapath.EventMonitor;
import io.vesicle.agent.datapath.EventSettings;
import io.vesicle.agent.datapath.FlowEvent;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.endpoint.EndpointView;
import io.vesicle.api.Messages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.Function;

/**
 * The API's views of the datapath for operators: the event monitor, its settings and losses, the
 * maps, counters, identities and ipcache. Checks what it is given like {@link ApiHandler}.
 */
final class DatapathViews {
    /** Events a monitor stream queues while its client reads: a slow client loses the rest. */
    static final int STREAM_QUEUE = 4096;
    private static final Set<String> MONITOR_PARAMETERS = Set.of("type", "endpoint", "pod", "identity", "port",
            "verdict");
    private static final Set<String> TYPES = Set.of("drop", "trace", "policy-verdict");
    private static final Set<String> VERDICTS = Set.of("dropped", "forwarded", "allowed", "denied");
    /** Reserved identities (bpf/include/ipcache_entry.h); allocated ones start at 256, with policy. */
    private static final List<Messages.Identity> RESERVED = List.of(new Messages.Identity(0, "unknown", true),
            new Messages.Identity(1, "host", true), new Messages.Identity(2, "world", true),
            new Messages.Identity(3, "unmanaged", true), new Messages.Identity(4, "health", true),
            new Messages.Identity(5, "init", true), new Messages.Identity(6, "remote-node", true));

    private final EventMonitor monitor;
    private final DatapathInspector inspector;
    private final EndpointManager endpoints;

    DatapathViews(EventMonitor monitor, DatapathInspector inspector, EndpointManager endpoints) {
        this.monitor = monitor;
        this.inspector = inspector;
        this.endpoints = endpoints;
    }

    Api.EventStream monitor(Map<String, List<String>> query) {
        for (String name : query.keySet()) {
            if (!MONITOR_PARAMETERS.contains(name)) {
                throw new ApiFailure(400, "unknown parameter '" + name + "' (known: "
                        + String.join(", ", MONITOR_PARAMETERS.stream().sorted().toList()) + ")", name, null);
            }
        }
        Set<Integer> endpointIds = values(query, "endpoint", v -> number(v, "endpoint", 1, Integer.MAX_VALUE));
        Set<String> pods = values(query, "pod", v -> v);
        for (String pod : pods) {
            List<Integer> ids = endpoints.list().stream().filter(e -> pod.equals(e.podNamespace() + "/" + e.podName()))
                    .map(EndpointView::id).toList();
            if (ids.isEmpty()) {
                throw new ApiFailure(404, "no endpoint of pod '" + pod + "' on this node (pods are NAMESPACE/NAME)",
                        "pod", null);
            }
            endpointIds.addAll(ids);
        }
        EventFilter filter = new EventFilter(values(query, "type", v -> oneOf(v, "type", TYPES)), endpointIds,
                values(query, "identity", v -> number(v, "identity", 0, Integer.MAX_VALUE)),
                values(query, "port", v -> number(v, "port", 1, 65535)),
                values(query, "verdict", v -> oneOf(v, "verdict", VERDICTS)));
        EventMonitor.Subscription subscription = monitor.subscribe(filter, STREAM_QUEUE);
        return new Stream(subscription);
    }

    /** Values of a parameter, each given once or comma-separated, parsed. */
    private static <T> Set<T> values(Map<String, List<String>> query, String name, Function<String, T> parse) {
        Set<T> parsed = new HashSet<>();
        for (String given : query.getOrDefault(name, List.of())) {
            for (String v : given.split(",", -1)) {
                if (v.isBlank()) {
                    throw ApiFailure.invalid(name, name + " is empty");
                }
                parsed.add(parse.apply(v.trim()));
            }
        }
        return parsed;
    }

    private static int number(String value, String name, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new ApiFailure(400, name + " must be a number from " + min + " to " + max + ", got '" + value + "'",
                name, null);
    }

    private static String oneOf(String value, String name, Set<String> allowed) {
        if (!allowed.contains(value)) {
            throw new ApiFailure(400, name + " '" + value + "' is none of " + String.join(", ",
                    allowed.stream().sorted().toList()), name, null);
        }
        return value;
    }

    /** A subscription as the stream takes it, events named with their pods. */
    private final class Stream implements Api.EventStream {
        private final EventMonitor.Subscription subscription;
        private Map<Integer, String> pods = Map.of();
        private long podsRead;

        Stream(EventMonitor.Subscription subscription) {
            this.subscription = subscription;
        }

        @Override
        public List<Messages.MonitorEvent> next(Duration timeout, int max) throws InterruptedException {
            FlowEvent first = subscription.poll(timeout);
            if (first == null) {
                return List.of();
            }
            List<FlowEvent> events = new ArrayList<>();
            events.add(first);
            subscription.drainTo(events, max - 1);
            refreshPods();
            List<Messages.MonitorEvent> messages = new ArrayList<>(events.size());
            for (FlowEvent e : events) {
                messages.add(message(e, pods.get(e.endpoint())));
            }
            return messages;
        }

        /** Pod names of endpoints, read again at most once a second. */
        private void refreshPods() {
            long now = System.nanoTime();
            if (now - podsRead < 1_000_000_000L && podsRead != 0) {
                return;
            }
            Map<Integer, String> byId = new HashMap<>();
            for (EndpointView e : endpoints.list()) {
                if (e.podName() != null) {
                    byId.put(e.id(), e.podNamespace() + "/" + e.podName());
                }
            }
            pods = byId;
            podsRead = now;
        }

        @Override
        public long lost() {
            return subscription.lost();
        }

        @Override
        public void close() {
            subscription.close();
        }
    }

    static Messages.MonitorEvent message(FlowEvent e, String pod) {
        boolean ip = e.source() != null;
        boolean ports = e.sourcePort() != 0 || e.destinationPort() != 0;
        return new Messages.MonitorEvent(e.time().toString(), e.type(), e.verdict(), e.reason(), e.direction(),
                e.ifindex(), e.endpoint(), pod, e.sourceIdentity(), e.destinationIdentity(),
                ip ? e.source().getHostAddress() : null, ip ? e.destination().getHostAddress() : null,
                ip ? protocol(e.protocol()) : null, ports ? e.sourcePort() : null, ports ? e.destinationPort() : null,
                e.length(), null);
    }

    static String protocol(int number) {
        return switch (number) {
            case 1 -> "ICMP";
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 132 -> "SCTP";
            default -> Integer.toString(number);
        };
    }

    Messages.EventsStatus events() {
        EventMonitor.Stats stats = monitor.stats();
        EventSettings s = monitor.settings();
        return new Messages.EventsStatus(new Messages.EventSettings(s.drops(), s.traces(), s.policyVerdicts(),
                s.traceSample()), stats.read(), stats.lostInDatapath(), stats.lostBySubscribers(), stats.subscribers());
    }

    Messages.EventsStatus configureEvents(Messages.EventSettings settings) {
        if (settings.traceSample() < 1) {
            throw new ApiFailure(400, "traceSample must be at least 1 (1 in N packets), got " + settings.traceSample(),
                    "traceSample", null);
        }
        monitor.configure(new EventSettings(settings.drops(), settings.traces(), settings.policyVerdicts(),
                settings.traceSample()));
        return events();
    }

    List<Messages.MapInfo> maps() {
        return inspector.maps().stream().map(m -> new Messages.MapInfo(m.name(), m.type(), m.id(), m.keySize(),
                m.valueSize(), m.maxEntries(), m.entries(), m.pin() == null ? null : m.pin().toString())).toList();
    }

    Object map(String name) {
        try {
            return inspector.dump(name);
        } catch (NoSuchElementException e) {
            throw new ApiFailure(404, e.getMessage(), "name", null);
        } catch (IllegalArgumentException e) {
            throw ApiFailure.invalid("name", e.getMessage());
        }
    }

    List<Messages.Counter> counters() {
        return inspector.counters().stream().map(c -> new Messages.Counter(c.reason(), c.direction(), c.drop(),
                c.packets(), c.bytes())).toList();
    }

    List<Messages.Identity> identities() {
        return RESERVED;
    }

    List<Messages.IpcacheEntry> ipcache() {
        return inspector.ipcache().stream().map(r -> new Messages.IpcacheEntry(r.prefix(), r.identity(),
                r.tunnelEndpoint(), r.flags())).toList();
    }
}
