package io.vesicle.cluster.etcd;

import io.etcd.jetcd.Client;
import io.vesicle.cluster.ClusterEvents;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.LocalNode;
import io.vesicle.cluster.NodeAssignment;
import io.vesicle.cluster.PodInfo;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The cluster kept in etcd (layout: {@link EtcdLayout}). {@link #join} registers this node under a
 * lease and claims its pod CIDR; {@link #start} lists and watches every node and pod; {@link #close}
 * stops both and leaves the lease to expire, so a restarting agent does not make its node vanish
 * from the others (a stopped one does, after the TTL); {@link #leave} revokes it for a deliberate exit.
 */
public final class EtcdClusterState implements ClusterState {
    /**
     * gRPC pings on an idle connection so a silently lost etcd (no RST) breaks the watch too;
     * above etcd's default minimum ping interval of 5 s, which it enforces.
     */
    private static final Duration CONNECTION_PING = Duration.ofSeconds(10);
    /** One range read lists the cluster: room for some 400,000 pods rather than gRPC's default 4 MiB. */
    private static final int MAX_RESPONSE_BYTES = 64 << 20;

    private final Client client;
    private final NodeRegistration registration;
    private final StoreWatch watch;
    private final AtomicBoolean started = new AtomicBoolean();

    public EtcdClusterState(EtcdSettings settings) {
        this(settings, StoreWatch.SyncHooks.NONE);
    }

    EtcdClusterState(EtcdSettings settings, StoreWatch.SyncHooks hooks) {
        // jetcd connects on the first call, not here.
        this.client = Client.builder()
                .endpoints(settings.endpoints().toArray(URI[]::new))
                .keepaliveTime(CONNECTION_PING)
                .keepaliveTimeout(EtcdCalls.REQUEST_TIMEOUT)
                .maxInboundMessageSize(MAX_RESPONSE_BYTES)
                .build();
        EtcdLayout layout = new EtcdLayout(settings.prefix());
        this.registration = new NodeRegistration(client, layout, settings);
        this.watch = new StoreWatch(client, layout, hooks);
    }

    @Override
    public NodeAssignment join(LocalNode self) {
        return registration.join(self);
    }

    @Override
    public CompletableFuture<Void> start(ClusterEvents handler) {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        return watch.start(handler);
    }

    @Override
    public boolean hasSynced() {
        return watch.hasSynced();
    }

    @Override
    public Optional<String> degradedReason() {
        String reasons = Stream.of(watch.problem(), registration.problem())
                .flatMap(Optional::stream)
                .collect(Collectors.joining("; "));
        return reasons.isEmpty() ? Optional.empty() : Optional.of(reasons);
    }

    @Override
    public void publishPod(PodInfo pod) {
        registration.publishPod(pod);
    }

    @Override
    public void withdrawPod(String namespace, String name) {
        registration.withdrawPod(namespace, name);
    }

    /** The lease this node's keys live under (0 before join); for tests and diagnostics. */
    long leaseId() {
        return registration.leaseId();
    }

    /**
     * Leaves the cluster now: revokes the lease, so this node and its pods disappear from the
     * others at once (its pod CIDR stays claimed for it), then closes.
     */
    public void leave() {
        try {
            registration.revoke();
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        watch.close();
        registration.close();
        client.close();
    }
}
