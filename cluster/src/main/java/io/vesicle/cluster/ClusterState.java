package io.vesicle.cluster;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What this agent learns of the cluster from its source of truth (the Kubernetes API, etcd, or a
 * local file), in the manner of a fabric8 informer: {@link #start} begins the watch and completes
 * once the first full listing has been delivered ({@link #hasSynced()}), {@link #close} stops it.
 *
 * <p>Guarantees to the {@link ClusterEvents} handler given to {@link #start}:
 * <ul>
 *   <li>events arrive on one thread, in the order the source produced them; the handler must not
 *       block for long (it may queue work);</li>
 *   <li>an upsert carries the object's whole current state; several changes to one object may
 *       arrive as one upsert;</li>
 *   <li>after the watch breaks and resumes, the source lists again and delivers an upsert for every
 *       object that exists and a delete for every object it had delivered that no longer does
 *       (deleted while the watch was down); then {@link ClusterEvent.Synced} again;</li>
 *   <li>an object the source cannot parse is never delivered: the source logs one line naming
 *       its key and the reason, and treats it as absent.</li>
 * </ul>
 * The handler judges what it gets (an entry claiming this node's name, or a pod CIDR overlapping
 * this node's, is refused there); a source does not trust its own store's entries about this node.
 */
public interface ClusterState extends AutoCloseable {
    /**
     * Makes this node known to the cluster and returns its assignment: for etcd, registers the
     * node under a lease and allocates its pod CIDR from the cluster CIDR (a transaction, so two
     * nodes never get the same one; a node that registered before gets its CIDR back); for the
     * Kubernetes API, waits for this node's Node object and reads its spec.podCIDR; for the
     * file source, reads it from the file. Blocks until known.
     *
     * @throws ClusterStateException when the source is unreachable past its deadline or refuses
     */
    NodeAssignment join(LocalNode self);

    /**
     * Starts watching; every event goes to handler. The future completes when the first full
     * listing has been delivered (and fails if the source cannot be reached at all).
     */
    CompletableFuture<Void> start(ClusterEvents handler);

    /** Whether the first full listing has been delivered. */
    boolean hasSynced();

    /**
     * Why the source is not currently in step with the store (connection lost, lease lost, watch
     * broken), or empty when it is. Forwarding does not depend on it; health reports it.
     */
    Optional<String> degradedReason();

    /**
     * Publishes one of this node's pods (etcd: under this node's lease; the Kubernetes API and
     * the file source: nothing, the kubelet or nobody publishes pods there). Idempotent.
     */
    void publishPod(PodInfo pod);

    /** Withdraws a pod {@link #publishPod} published. Idempotent. */
    void withdrawPod(String namespace, String name);

    /** Stops watching and releases connections; this node's lease (etcd) is left to expire. */
    @Override
    void close();
}
