package io.vesicle.agent.endpoint;

import io.vesicle.agent.core.AgentException;
import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.EndpointWiring;
import io.vesicle.agent.datapath.Realizer;
import io.vesicle.cluster.Cidr;
import io.vesicle.agent.ipam.Ipam;
import io.vesicle.agent.metrics.AgentMetrics;
import io.vesicle.agent.util.Throwables;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's endpoints: one {@link Endpoint} per attachment, one desired state each
 * ({@link EndpointWiring}, derived from the endpoint and its IPAM allocation), made true in the
 * kernel by builds that loop over the datapath's {@link Realizer}s. Every change to an endpoint
 * asks for a build with a reason on the endpoint's own {@link EndpointQueue}; a create waits for
 * its first build.
 *
 * <p>Crash safety: a create writes its intent before it changes anything, a delete writes its
 * intent to go before it removes anything and removes the file last; so whenever the agent dies,
 * the files name every veth, entry and address it may have made, and {@link #restore()} finishes
 * the job. A file that cannot be read is rebuilt from what the node and the maps show.
 *
 * <p>Locks: the registry's monitor guards only the in-memory indexes (ids, names); nothing that
 * can wait on the outside world runs under it. Work on one endpoint is ordered by its queue.
 */
public final class EndpointManager {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointManager.class);
    /**
     * No identities are allocated yet (they come with policy): every pod carries the reserved
     * "init" identity (5, identity not resolved yet), which the overlay sends as the VNI.
     */
    public static final int POD_IDENTITY = 5;

    /** Called at each step of a build and a teardown; tests fail there to play a crash or a fault. */
    @FunctionalInterface
    public interface Checkpoint {
        Checkpoint NONE = step -> { };

        void reached(String step);
    }

    /** What a create asks for. {@code address} is a delegated IPAM's, null for the agent's own. */
    public record CreateRequest(AttachmentKey key, String network, Path netns, String podNamespace, String podName,
                                Cidr.AddressWithPrefix address) {
    }

    /** What {@link #restore()} found and did, for the log and the tests. */
    public record RestoreReport(int restored, int cleanedUp, int rolledBack, int rebuilt, int failed,
                                int staleObjects) {
    }

    /** What a GC removed, and what it asked to remove but did not see finish in time. */
    public record GcReport(List<AttachmentKey> removed, List<AttachmentKey> pending) {
    }

    private final Datapath datapath;
    private final Ipam ipam;
    private final EndpointStore store;
    private final Inet4Address gateway;
    private final int mtu;
    private final Checkpoint checkpoint;
    private final ExecutorService builders;
    private final AgentMetrics metrics;
    /** Guarded by itself. */
    private final Map<AttachmentKey, Endpoint> registry = new LinkedHashMap<>();
    private volatile Listener listener = Listener.NONE;

    /**
     * Told when an endpoint has been built (READY: created, restored or regenerated) and when it
     * is gone; called on the endpoint's queue, so calls for one endpoint come in order. Must not
     * block: the cluster state publishes pods through it.
     */
    public interface Listener {
        Listener NONE = new Listener() {
            @Override
            public void ready(EndpointView endpoint) {
            }

            @Override
            public void removed(EndpointView endpoint) {
            }
        };

        void ready(EndpointView endpoint);

        /** endpoint as it was before its teardown, address included when it had one. */
        void removed(EndpointView endpoint);
    }

    /** Sets the one listener; before {@link #restore} so restored endpoints are reported too. */
    public void listener(Listener listener) {
        this.listener = java.util.Objects.requireNonNull(listener, "listener");
    }

    private void tell(java.util.function.Consumer<Listener> call, Endpoint endpoint) {
        try {
            call.accept(listener);
        } catch (RuntimeException e) {
            LOG.warn("endpoint {}: listener failed: {}", endpoint.key(), Throwables.describe(e));
        }
    }

    public EndpointManager(Datapath datapath, Ipam ipam, Path stateDir, Inet4Address gateway, int mtu,
                           Checkpoint checkpoint, ExecutorService builders, AgentMetrics metrics) {
        this.datapath = datapath;
        this.ipam = ipam;
        this.store = new EndpointStore(stateDir);
        this.gateway = gateway;
        this.mtu = mtu;
        this.checkpoint = checkpoint;
        this.builders = builders;
        this.metrics = metrics;
        for (Endpoint.State state : Endpoint.State.values()) {
            metrics.endpointsInState(state.name().toLowerCase(java.util.Locale.ROOT), () -> count(state));
        }
    }

    // ---- reading ----

    public Optional<EndpointView> get(AttachmentKey key) {
        return endpoint(key).map(this::view);
    }

    /** Every endpoint, by id. */
    public List<EndpointView> list() {
        List<Endpoint> all;
        synchronized (registry) {
            all = new ArrayList<>(registry.values());
        }
        return all.stream().sorted(Comparator.comparingInt(Endpoint::id)).map(this::view).toList();
    }

    public int count(Endpoint.State state) {
        synchronized (registry) {
            return (int) registry.values().stream().filter(e -> e.state() == state).count();
        }
    }

    private EndpointView view(Endpoint e) {
        return EndpointView.of(e, ipam.allocationOf(e.key()).orElse(null));
    }

    private Optional<Endpoint> endpoint(AttachmentKey key) {
        synchronized (registry) {
            return Optional.ofNullable(registry.get(key));
        }
    }

    // ---- create ----

    /**
     * Creates the endpoint and completes when its first build has: with the endpoint READY, or
     * with the failure after everything the build did is undone.
     */
    public CompletableFuture<EndpointView> create(CreateRequest request) {
        return AgentMetrics.time(metrics.endpointCreate(), createTimed(request));
    }

    private CompletableFuture<EndpointView> createTimed(CreateRequest request) {
        Optional<Endpoint> existing = endpoint(request.key());
        if (existing.isEmpty()) {
            return createFresh(request);
        }
        Endpoint old = existing.get();
        return old.queue.submit(() -> {
            if (isLive(old, request.netns())) {
                throw alreadyExists(old, request.netns());
            }
            // An earlier create that could not be undone, or a pod whose namespace went away
            // without a DELETE (its veth is gone, or going: the kernel tears a deleted namespace
            // down asynchronously): clear it and start afresh.
            teardown(old, "replaced by a new create");
            return null;
        }).thenCompose(ignored -> createFresh(request));
    }

    private boolean isLive(Endpoint e, Path netns) {
        if (e.state() == Endpoint.State.CREATING || e.state() == Endpoint.State.NOT_READY
                || !datapath.hasInterface(e.hostIf())) {
            return false;
        }
        return !netns.equals(e.netns()) || verify(e).isEmpty();
    }

    /** CNI: an ADD must fail when the interface already exists in the container. */
    private static AgentException alreadyExists(Endpoint e, Path netns) {
        String where = netns.equals(e.netns()) ? "interface " + e.key().ifname() + " in netns " + netns
                : "in netns " + e.netns() + "; delete it first";
        return AgentException.conflict("endpoint " + e.key() + " already exists (" + where + ")");
    }

    private CompletableFuture<EndpointView> createFresh(CreateRequest request) {
        AttachmentKey key = request.key();
        Endpoint endpoint;
        synchronized (registry) {
            for (Endpoint other : registry.values()) {
                if (other.key().equals(key)) {
                    return CompletableFuture.failedFuture(AgentException.conflict("endpoint " + key
                            + " is being created or removed by another request"));
                }
                if (other.hostIf().equals(key.hostIfName())
                        || EndpointStore.fileName(other.key()).equals(EndpointStore.fileName(key))) {
                    return CompletableFuture.failedFuture(AgentException.conflict("endpoint " + other.key()
                            + " already uses the names of " + key + " (" + key.hostIfName() + ", "
                            + EndpointStore.fileName(key) + ")"));
                }
            }
            endpoint = new Endpoint(Endpoint.State.CREATING, key, lowestFreeId(), request.network(), request.netns(),
                    request.podNamespace(), request.podName(), gateway, mtu, POD_IDENTITY, null, null,
                    new EndpointQueue(builders));
            registry.put(key, endpoint);
        }
        return endpoint.queue.submit(() -> firstBuild(endpoint, request.address()));
    }

    private int lowestFreeId() {
        Set<Integer> used = new HashSet<>();
        registry.values().forEach(e -> used.add(e.id()));
        int id = 1;
        while (used.contains(id)) {
            id++;
        }
        return id;
    }

    private EndpointView firstBuild(Endpoint endpoint, Cidr.AddressWithPrefix delegated) {
        AttachmentKey key = endpoint.key();
        boolean heldBefore = ipam.allocationOf(key).isPresent();
        List<Realizer> applied = new ArrayList<>();
        EndpointWiring wiring = null;
        try {
            store.write(record(endpoint, EndpointStore.Status.creating));
            checkpoint.reached("intent");
            Ipam.Allocation address = delegated != null
                    ? ipam.reserve(key, endpoint.network(), delegated.address(), delegated.prefixLength())
                    : ipam.allocate(key, endpoint.network());
            checkpoint.reached("address");
            wiring = wiring(endpoint, address);
            if (datapath.hasInterface(endpoint.hostIf())) {
                LOG.info("endpoint {}: deleting a leftover {}", key, endpoint.hostIf());
                datapath.realizers().get(0).remove(wiring);
            }
            for (Realizer realizer : datapath.realizers()) {
                applied.add(realizer);
                wiring = realizer.apply(wiring);
                checkpoint.reached(realizer.name());
            }
            endpoint.learn(wiring.podMac(), hostMac(endpoint));
            endpoint.transition(Endpoint.State.READY, "create");
            store.write(record(endpoint, EndpointStore.Status.ready));
            checkpoint.reached("ready");
            LOG.info("endpoint {} created: {} {} in {}", key, endpoint.hostIf(), address.cidr(), endpoint.netns());
            EndpointView created = view(endpoint);
            tell(l -> l.ready(created), endpoint);
            return created;
        } catch (RuntimeException e) {
            rollback(endpoint, wiring, applied, !heldBefore, e);
            throw e;
        }
    }

    private String hostMac(Endpoint endpoint) {
        return datapath.observe(endpoint.hostIf()).map(Datapath.Observed::hostMac).orElse(null);
    }

    /** Undoes a failed first build; what cannot be undone stays described by the intent file. */
    private void rollback(Endpoint endpoint, EndpointWiring wiring, List<Realizer> applied, boolean release,
                          RuntimeException failure) {
        boolean clean = true;
        for (int i = applied.size() - 1; i >= 0; i--) {
            Realizer realizer = applied.get(i);
            clean &= attempt(failure, () -> realizer.remove(wiring));
        }
        if (release) {
            clean &= attempt(failure, () -> ipam.release(endpoint.key()));
        }
        if (clean) {
            clean = attempt(failure, () -> store.delete(endpoint.key()));
        }
        if (clean) {
            endpoint.transition(Endpoint.State.DISCONNECTING, "create failed");
            endpoint.transition(Endpoint.State.DISCONNECTED, "create undone");
            forget(endpoint);
        } else {
            endpoint.transition(Endpoint.State.NOT_READY, "create failed");
            LOG.warn("endpoint {}: a failed create could not be fully undone; its intent stays for the next DELETE,"
                    + " GC or restart", endpoint.key());
        }
    }

    private static boolean attempt(RuntimeException failure, Runnable step) {
        try {
            step.run();
            return true;
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
            return false;
        }
    }

    private void forget(Endpoint endpoint) {
        synchronized (registry) {
            registry.remove(endpoint.key(), endpoint);
        }
    }

    // ---- regenerate ----

    /**
     * Asks for endpoint's kernel state to be rebuilt from its desired state; requests that arrive
     * while one waits are built once. Completes when a build that began after the request ends.
     */
    public CompletableFuture<Void> regenerate(AttachmentKey key, String reason) {
        Endpoint endpoint = endpoint(key).orElseThrow(() -> AgentException.notFound(null, "no endpoint " + key));
        return endpoint.queue.regenerate(reason, reasons -> {
            metrics.endpointRegeneration().record(() -> build(endpoint, reasons));
            return null;
        });
    }

    private void build(Endpoint endpoint, Set<String> reasons) {
        Endpoint.State state = endpoint.state();
        if (state == Endpoint.State.DISCONNECTING || state == Endpoint.State.DISCONNECTED
                || state == Endpoint.State.CREATING) {
            return; // going away, or its first build owns it
        }
        if (state == Endpoint.State.READY || state == Endpoint.State.NOT_READY) {
            endpoint.transition(Endpoint.State.REGENERATING, String.join(", ", reasons));
        }
        try {
            Ipam.Allocation address = ipam.allocationOf(endpoint.key()).orElseThrow(() -> new IllegalStateException(
                    "endpoint " + endpoint.key() + " holds no address in the IPAM"));
            EndpointWiring wiring = wiring(endpoint, address);
            for (Realizer realizer : datapath.realizers()) {
                wiring = realizer.apply(wiring);
                checkpoint.reached("regenerate:" + realizer.name());
            }
            boolean learnt = wiring.podMac() != null && !wiring.podMac().equals(endpoint.mac());
            endpoint.learn(wiring.podMac(), hostMac(endpoint));
            if (learnt) {
                store.write(record(endpoint, EndpointStore.Status.ready));
            }
            endpoint.transition(Endpoint.State.READY, String.join(", ", reasons));
            EndpointView built = EndpointView.of(endpoint, address);
            tell(l -> l.ready(built), endpoint);
        } catch (RuntimeException e) {
            endpoint.transition(Endpoint.State.NOT_READY, "build failed");
            LOG.error("endpoint {}: build ({}) failed: {}", endpoint.key(), String.join(", ", reasons),
                    Throwables.describe(e));
            throw e;
        }
    }

    // ---- delete and gc ----

    /**
     * Removes the endpoint and whatever of it is left, and every address its attachment holds;
     * completes with whether there was an endpoint. Succeeds when parts are already gone.
     */
    public CompletableFuture<Boolean> delete(AttachmentKey key) {
        return AgentMetrics.time(metrics.endpointDelete(), deleteTimed(key));
    }

    private CompletableFuture<Boolean> deleteTimed(AttachmentKey key) {
        Optional<Endpoint> endpoint = endpoint(key);
        if (endpoint.isEmpty()) {
            // No endpoint: an address allocated through the API, or a veth of a create whose
            // state never reached the disk.
            return CompletableFuture.supplyAsync(() -> {
                if (datapath.hasInterface(key.hostIfName())) {
                    datapath.realizers().get(0).remove(minimalWiring(key));
                }
                ipam.release(key);
                return false;
            }, builders);
        }
        Endpoint e = endpoint.get();
        return e.queue.submit(() -> {
            if (e.state() == Endpoint.State.DISCONNECTED) {
                return false;
            }
            teardown(e, "delete");
            return true;
        });
    }

    private EndpointWiring minimalWiring(AttachmentKey key) {
        return new EndpointWiring(Integer.MAX_VALUE, key.hostIfName(), null, key.ifname(), Cidr.fromInt(0), gateway,
                mtu, null, POD_IDENTITY);
    }

    /**
     * Removes endpoint from the kernel, the IPAM and the disk, intent first. Runs on its queue (or
     * during restore, before anything else runs).
     */
    private void teardown(Endpoint endpoint, String why) {
        AttachmentKey key = endpoint.key();
        EndpointView before = EndpointView.of(endpoint, ipam.allocationOf(key).orElse(null));
        endpoint.transition(Endpoint.State.DISCONNECTING, why);
        store.write(record(endpoint, EndpointStore.Status.disconnecting));
        checkpoint.reached("teardown:intent");
        Optional<Inet4Address> address = addressOf(endpoint);
        List<Realizer> realizers = datapath.realizers();
        EndpointWiring wiring = address.map(a -> wiring(endpoint, a)).orElse(minimalWiring(key));
        for (int i = realizers.size() - 1; i >= 0; i--) {
            if (address.isPresent() || i == 0) {
                realizers.get(i).remove(wiring);
            }
            checkpoint.reached("teardown:" + realizers.get(i).name());
        }
        ipam.release(key);
        checkpoint.reached("teardown:address");
        store.delete(key);
        endpoint.transition(Endpoint.State.DISCONNECTED, why);
        forget(endpoint);
        tell(l -> l.removed(before), endpoint);
        LOG.info("endpoint {} removed ({}): {}{}", key, why, endpoint.hostIf(),
                address.map(a -> ", " + a.getHostAddress()).orElse(""));
    }

    /**
     * Removes every endpoint and address of network (every network when null) whose attachment
     * is not in valid. Deletes run in parallel on the endpoints' queues; one that does not finish
     * within limit (a stuck endpoint) is reported pending and finishes on its own.
     */
    public GcReport gc(String network, Set<AttachmentKey> valid, Duration limit) {
        Map<AttachmentKey, CompletableFuture<Boolean>> deletes = new LinkedHashMap<>();
        for (EndpointView e : list()) {
            if (!valid.contains(e.key()) && (network == null || network.equals(e.network()))) {
                deletes.put(e.key(), delete(e.key()));
            }
        }
        for (Ipam.Allocation a : ipam.allocations().values()) {
            if (!a.owner().containerID().isEmpty() && !valid.contains(a.owner()) && !deletes.containsKey(a.owner())
                    && (network == null || network.equals(a.network())) && endpoint(a.owner()).isEmpty()) {
                deletes.put(a.owner(), delete(a.owner()));
            }
        }
        long deadline = System.nanoTime() + limit.toNanos();
        List<AttachmentKey> removed = new ArrayList<>();
        List<AttachmentKey> pending = new ArrayList<>();
        for (Map.Entry<AttachmentKey, CompletableFuture<Boolean>> d : deletes.entrySet()) {
            try {
                d.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                removed.add(d.getKey());
            } catch (TimeoutException e) {
                pending.add(d.getKey());
            } catch (ExecutionException e) {
                LOG.error("gc: removing {} failed: {}", d.getKey(), Throwables.describe(e.getCause()));
                pending.add(d.getKey());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pending.add(d.getKey());
            }
        }
        if (!removed.isEmpty() || !pending.isEmpty()) {
            LOG.info("gc{}: removed {} attachments not in the valid list{}", network == null ? ""
                    : " of network " + network, removed.size(), pending.isEmpty() ? "" : "; still removing " + pending);
        }
        return new GcReport(removed, pending);
    }

    // ---- IPAM for the plugin ----

    /** An agent address for an attachment that has no endpoint yet (the plugin's own use). */
    public Ipam.Allocation allocate(AttachmentKey key, String network) {
        return ipam.allocate(key, network);
    }

    /**
     * Releases the addresses of key that no endpoint uses (an endpoint's address goes with the
     * endpoint).
     */
    public List<Ipam.Allocation> release(AttachmentKey key) {
        Optional<Endpoint> endpoint = endpoint(key);
        if (endpoint.isPresent() && endpoint.get().state() != Endpoint.State.DISCONNECTED) {
            return List.of();
        }
        return ipam.release(key);
    }

    // ---- check ----

    /**
     * Completes with the endpoint when the kernel holds what it should, else fails CONFLICT
     * naming every difference (NOT_FOUND when there is no such endpoint).
     */
    public CompletableFuture<EndpointView> check(AttachmentKey key) {
        Endpoint endpoint = endpoint(key).orElseThrow(() -> AgentException.notFound(null, "no endpoint " + key));
        return endpoint.queue.submit(() -> {
            if (endpoint.state() != Endpoint.State.READY) {
                throw AgentException.conflict("endpoint " + key + " is not ready (" + endpoint.state().name()
                        .toLowerCase().replace('_', ' ') + ")");
            }
            List<String> differences = verify(endpoint);
            if (!differences.isEmpty()) {
                throw AgentException.conflict("endpoint " + key + ": " + String.join("; ", differences));
            }
            return view(endpoint);
        });
    }

    private List<String> verify(Endpoint endpoint) {
        Optional<Ipam.Allocation> address = ipam.allocationOf(endpoint.key());
        if (address.isEmpty()) {
            return List.of("it holds no address in the IPAM");
        }
        EndpointWiring wiring = wiring(endpoint, address.get());
        List<String> differences = new ArrayList<>();
        for (Realizer realizer : datapath.realizers()) {
            differences.addAll(realizer.verify(wiring));
        }
        return differences;
    }

    // ---- restore ----

    /**
     * Brings the node back to what the state files say, without disturbing running pods: ready
     * endpoints are rebuilt in place, unfinished creates and deletes are finished (backwards or
     * forwards), unreadable files are rebuilt from the kernel, and what no endpoint accounts for
     * is removed. Returns when every restore build has ended.
     */
    public RestoreReport restore() {
        EndpointStore.Loaded loaded = store.loadAll();
        int rebuilt = 0;
        List<EndpointStore.Record> records = new ArrayList<>(loaded.records());
        for (EndpointStore.Unreadable file : loaded.unreadable()) {
            Optional<EndpointStore.Record> record = rebuild(file);
            if (record.isPresent()) {
                records.add(record.get());
                rebuilt++;
            }
        }
        int cleanedUp = 0;
        int rolledBack = 0;
        int failed = 0;
        Map<Endpoint, CompletableFuture<Void>> restoring = new LinkedHashMap<>();
        for (EndpointStore.Record record : records) {
            Endpoint endpoint = register(record);
            migrateAddress(record);
            try {
                if (record.status() == EndpointStore.Status.creating) {
                    teardown(endpoint, "restore: rolling back an unfinished create");
                    rolledBack++;
                } else if (record.status() == EndpointStore.Status.disconnecting) {
                    teardown(endpoint, "restore: finishing an unfinished delete");
                    cleanedUp++;
                } else if (!datapath.hasInterface(endpoint.hostIf())) {
                    teardown(endpoint, "restore: its veth is gone (pod gone)");
                    cleanedUp++;
                } else {
                    restoring.put(endpoint, regenerate(endpoint.key(), "restore"));
                }
            } catch (RuntimeException e) {
                failed++;
                LOG.error("restore: {} could not be restored; it stays for a DELETE or GC: {}", endpoint.key(),
                        Throwables.describe(e));
            }
        }
        int restored = 0;
        for (Map.Entry<Endpoint, CompletableFuture<Void>> r : restoring.entrySet()) {
            try {
                r.getValue().join();
                restored++;
            } catch (CompletionException e) {
                failed++;
                LOG.error("restore: {} could not be re-attached; it stays for a DELETE or GC: {}", r.getKey().key(),
                        Throwables.describe(e.getCause()));
            }
        }
        int stale = sweep();
        RestoreReport report = new RestoreReport(restored, cleanedUp, rolledBack, rebuilt, failed, stale);
        LOG.info("restore: {} endpoints re-attached, {} cleaned up, {} unfinished creates rolled back, {} rebuilt from"
                + " the kernel, {} failed, {} stale objects removed", restored, cleanedUp, rolledBack, rebuilt, failed,
                stale);
        return report;
    }

    private Endpoint register(EndpointStore.Record r) {
        Endpoint endpoint = new Endpoint(Endpoint.State.RESTORING, r.key(), r.id(), r.network(),
                r.netns() == null ? null : Path.of(r.netns()), r.podNamespace(), r.podName(), gateway, mtu,
                r.identity(), r.mac(), r.hostMac(), new EndpointQueue(builders));
        synchronized (registry) {
            registry.put(endpoint.key(), endpoint);
        }
        return endpoint;
    }

    /** Version 1 kept addresses in the endpoint's file; since version 2 only the IPAM does. */
    private void migrateAddress(EndpointStore.Record r) {
        if (r.address() == null || ipam.allocationOf(r.key()).isPresent()) {
            return;
        }
        Cidr.AddressWithPrefix address = Cidr.parseAddressWithPrefix(r.address());
        try {
            ipam.reserve(r.key(), r.network(), address.address(), address.prefixLength());
            LOG.info("restore: {} keeps {} (moved from its version 1 state file into the IPAM)", r.key(), address);
        } catch (AgentException e) {
            LOG.warn("restore: {} had {} in its version 1 state file, which the IPAM refuses: {}", r.key(), address,
                    e.getMessage());
        }
    }

    /**
     * A state file that cannot be read is rebuilt from the kernel: the attachment its name stands
     * for whose veth exists, its entry in the datapath (id, address, MACs), its address in the
     * IPAM and the namespace holding its pod side. The pod keeps its network and its address.
     */
    private Optional<EndpointStore.Record> rebuild(EndpointStore.Unreadable file) {
        for (AttachmentKey key : EndpointStore.candidates(file.file())) {
            Optional<Datapath.Observed> observed = datapath.observe(key.hostIfName());
            if (observed.isEmpty()) {
                continue;
            }
            Datapath.Observed info = observed.get();
            Optional<Ipam.Allocation> allocation = ipam.allocationOf(key);
            String network = allocation.map(Ipam.Allocation::network).orElse(null);
            if (allocation.isEmpty()) {
                ipam.reserve(key, null, info.address(), ipam.pool().prefixLength());
            }
            String mac = info.mac();
            Path netns = datapath.findPodNamespace(key.ifname(), mac).orElse(null);
            EndpointStore.Record record = new EndpointStore.Record(EndpointStore.VERSION,
                    EndpointStore.Status.ready, info.id(), key.containerID(), key.ifname(), network,
                    netns == null ? null : netns.toString(), null, null, key.hostIfName(), info.hostMac(),
                    mac, gateway.getHostAddress(), mtu, info.identity(), null, null);
            store.quarantine(file.file());
            store.write(record);
            LOG.warn("restore: {} was unreadable ({}); rebuilt {} from the kernel ({}, {}, netns {}); the original is"
                    + " kept as {}.corrupt", file.file(), file.reason(), key, key.hostIfName(),
                    info.address().getHostAddress(), netns == null ? "not found" : netns, file.file().getFileName());
            return Optional.of(record);
        }
        store.quarantine(file.file());
        LOG.warn("restore: {} is unreadable ({}) and no veth of the attachments its name may stand for exists;"
                + " moved aside as {}.corrupt", file.file(), file.reason(), file.file().getFileName());
        return Optional.empty();
    }

    /** Removes kernel objects and delegated addresses that no endpoint accounts for. */
    private int sweep() {
        List<Endpoint> endpoints;
        synchronized (registry) {
            endpoints = new ArrayList<>(registry.values());
        }
        List<EndpointWiring> wired = new ArrayList<>();
        Set<AttachmentKey> known = new HashSet<>();
        for (Endpoint e : endpoints) {
            known.add(e.key());
            // Every endpoint keeps what it has, one whose restore failed for want of an address too.
            wired.add(addressOf(e).map(a -> wiring(e, a)).orElse(minimalWiring(e.key())));
        }
        int removed = 0;
        for (Realizer realizer : datapath.realizers()) {
            removed += realizer.sweep(wired);
        }
        List<Ipam.Allocation> orphans = ipam.releaseIf(owner -> !known.contains(owner)
                && ipam.allocationOf(owner).map(a -> a.source() == Ipam.Source.DELEGATED).orElse(false));
        for (Ipam.Allocation a : orphans) {
            LOG.info("restore: released {}, a delegated address of {} that no endpoint holds", a.cidr(), a.owner());
        }
        return removed + orphans.size();
    }

    // ---- desired state ----

    private EndpointWiring wiring(Endpoint e, Ipam.Allocation address) {
        return wiring(e, address.address());
    }

    private EndpointWiring wiring(Endpoint e, Inet4Address address) {
        return new EndpointWiring(e.id(), e.hostIf(), e.netns(), e.key().ifname(), address, e.gateway(), e.mtu(),
                e.mac(), e.identity());
    }

    /**
     * The endpoint's address: the IPAM's, else the one its datapath entry holds (an endpoint whose
     * address the IPAM gives to another, or lost), so removing and sweeping still find its objects.
     */
    private Optional<Inet4Address> addressOf(Endpoint e) {
        return ipam.allocationOf(e.key()).map(Ipam.Allocation::address)
                .or(() -> datapath.observe(e.hostIf()).filter(o -> o.id() == e.id()).map(Datapath.Observed::address));
    }

    private EndpointStore.Record record(Endpoint e, EndpointStore.Status status) {
        return new EndpointStore.Record(EndpointStore.VERSION, status, e.id(), e.key().containerID(), e.key().ifname(),
                e.network(), e.netns() == null ? null : e.netns().toString(), e.podNamespace(), e.podName(),
                e.hostIf(), e.hostMac(), e.mac(), e.gateway().getHostAddress(), e.mtu(), e.identity(), null, null);
    }
}
