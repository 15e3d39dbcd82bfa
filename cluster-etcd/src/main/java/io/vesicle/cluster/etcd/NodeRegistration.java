package io.vesicle.cluster.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.LocalNode;
import io.vesicle.cluster.NodeAssignment;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static io.vesicle.cluster.etcd.EtcdCalls.await;
import static io.vesicle.cluster.etcd.EtcdCalls.bytes;
import static io.vesicle.cluster.etcd.EtcdCalls.text;

/**
 * This node in etcd: the cluster CIDR agreed on, the pod CIDR claimed, {@code nodes/<name>} and
 * this node's pods kept under a lease. Keep-alives, re-registering after a lost lease and writing
 * pod changes all run on one thread of their own, so a slow etcd never holds up the agent's calls
 * and the event thread.
 */
final class NodeRegistration implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeRegistration.class);

    private final EtcdLayout layout;
    private final EtcdSettings settings;
    private final Client client;
    private final ScheduledExecutorService thread;
    private final long ttlMillis;
    /** This node's pods by key, as the agent last published them. */
    private final Map<String, PodInfo> ownPods = new ConcurrentHashMap<>();
    /** Keys of ownPods (or withdrawn ones) whose state in etcd may differ from ownPods. */
    private final Set<String> unwrittenPods = ConcurrentHashMap.newKeySet();

    private volatile NodeInfo self;
    private volatile long leaseId;
    private volatile String leaseProblem;
    /** Why the last pod write failed, until every pod change is written. */
    private volatile String writeProblem;
    // Confined to thread:
    /** The keep-alive etcd has not answered yet: one at a time, not one per tick. */
    private CompletableFuture<LeaseKeepAliveResponse> pendingKeepAlive;
    private long lastSentMillis;
    /** When etcd last renewed the lease (or granted it): the lease runs out a TTL after. */
    private long lastRenewedMillis;
    private String lastKeepAliveError;
    /** Between etcd saying the lease is gone and registering under a new one. */
    private boolean leaseLost;

    NodeRegistration(Client client, EtcdLayout layout, EtcdSettings settings) {
        this.client = client;
        this.layout = layout;
        this.settings = settings;
        this.ttlMillis = settings.leaseTTL().toMillis();
        this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread t = new Thread(runnable, "vesicle-etcd-lease");
            t.setDaemon(true);
            return t;
        });
    }

    /** jetcd builds its channel on first use: not in create(), which connects nothing. */
    private KV kv() {
        return client.getKVClient();
    }

    NodeAssignment join(LocalNode local) {
        if (self != null) {
            throw new IllegalStateException("already joined as " + self.name());
        }
        EtcdLayout.checkName("node name", local.name());
        Cidr clusterCIDR = agreeOnClusterCIDR();
        Cidr podCIDR = claimPodCIDR(local.name());
        NodeInfo node = new NodeInfo(local.name(), local.underlayIP(), podCIDR);
        long lease = register(node);
        leaseId = lease;
        self = node;
        onThread(() -> lastRenewedMillis = System.currentTimeMillis());
        LOG.info("joined as {} ({}) with pod CIDR {} under lease {} (TTL {} s)", node.name(),
                node.underlayIP().getHostAddress(), podCIDR, Long.toHexString(lease), settings.leaseTTL().toSeconds());
        // Renewals go out every TTL/3 as etcd's own clients do (two may fail before the lease does);
        // ticks twice as often notice answers and silence without blocking on either.
        long tick = ttlMillis / 6;
        thread.scheduleAtFixedRate(this::keepAlive, tick, tick, TimeUnit.MILLISECONDS);
        return new NodeAssignment(podCIDR, clusterCIDR);
    }

    /** config/clusterCIDR: written by the first node, and every later node must agree with it. */
    private Cidr agreeOnClusterCIDR() {
        ByteSequence key = bytes(layout.clusterCIDRKey());
        Cidr configured = settings.clusterCIDR();
        TxnResponse answer = await(kv().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0)))
                .Then(Op.put(key, bytes(configured.toString()), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit(), "writing " + layout.clusterCIDRKey());
        if (answer.isSucceeded()) {
            LOG.info("{} set to {} (the first node to join)", layout.clusterCIDRKey(), configured);
            return configured;
        }
        String stored = text(answer.getGetResponses().get(0).getKvs().get(0).getValue());
        Cidr storedCIDR;
        try {
            storedCIDR = Cidr.parse(stored.trim());
        } catch (IllegalArgumentException e) {
            throw new ClusterStateException("etcd's " + layout.clusterCIDRKey() + " holds '" + stored
                    + "', not a CIDR: " + e.getMessage());
        }
        if (!storedCIDR.equals(configured)) {
            throw new ClusterStateException("this node's clusterCIDR " + configured + " differs from the cluster's "
                    + storedCIDR + " (etcd " + layout.clusterCIDRKey() + "); refusing to join");
        }
        return configured;
    }

    /**
     * The pod CIDR this node owns under cidrs/, or the first free one claimed with a
     * create-if-absent transaction; losing a race to another node moves on to the next.
     */
    private Cidr claimPodCIDR(String name) {
        Cidr clusterCIDR = settings.clusterCIDR();
        List<Cidr> taken = new ArrayList<>();
        List<KeyValue> claims = await(kv().get(bytes(layout.cidrsPrefix()), GetOption.builder().isPrefix(true).build()),
                "listing " + layout.cidrsPrefix()).getKvs();
        for (KeyValue claim : claims) {
            String key = text(claim.getKey());
            Cidr cidr = layout.cidrOfKey(key);
            if (cidr == null) {
                LOG.warn("refused {}: the key does not name a CIDR as a.b.c.d-n", key);
                continue;
            }
            if (text(claim.getValue()).equals(name) && within(cidr, clusterCIDR)) {
                LOG.info("{} already owns pod CIDR {} ({})", name, cidr, key);
                return cidr;
            }
            taken.add(cidr);
        }
        int maskSize = settings.nodeCIDRMaskSize();
        long blockSize = 1L << (32 - maskSize);
        long blocks = clusterCIDR.size() / blockSize;
        for (long block = 0; block < blocks; block++) {
            Cidr candidate = new Cidr(clusterCIDR.address(block * blockSize), maskSize);
            if (taken.stream().anyMatch(candidate::overlaps)) {
                continue;
            }
            Optional<String> owner = claim(candidate, name);
            if (owner.isEmpty() || owner.get().equals(name)) {
                LOG.info("{} claimed pod CIDR {} ({})", name, candidate, layout.cidrKey(candidate));
                return candidate;
            }
        }
        throw new ClusterStateException("no free /" + maskSize + " left in clusterCIDR " + clusterCIDR + " ("
                + claims.size() + " claimed under " + layout.cidrsPrefix() + ")");
    }

    /** Creates cidrs/&lt;cidr&gt; = name if absent; returns empty when created, else its owner. */
    private Optional<String> claim(Cidr cidr, String name) {
        ByteSequence key = bytes(layout.cidrKey(cidr));
        TxnResponse answer = await(kv().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, bytes(name), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit(), "claiming " + layout.cidrKey(cidr));
        if (answer.isSucceeded()) {
            return Optional.empty();
        }
        return Optional.of(text(answer.getGetResponses().get(0).getKvs().get(0).getValue()));
    }

    private static boolean within(Cidr inner, Cidr outer) {
        return inner.prefixLength() >= outer.prefixLength() && outer.contains(inner.network());
    }

    /** A new lease and nodes/&lt;name&gt; under it; returns the lease. */
    private long register(NodeInfo node) {
        long lease = await(client.getLeaseClient().grant(settings.leaseTTL().toSeconds()), "granting a lease").getID();
        await(kv().put(bytes(layout.nodeKey(node.name())), bytes(layout.encode(node)),
                PutOption.builder().withLeaseId(lease).build()), "writing " + layout.nodeKey(node.name()));
        return lease;
    }

    private void keepAlive() {
        long now = System.currentTimeMillis();
        if (pendingKeepAlive != null && pendingKeepAlive.isDone()) {
            CompletableFuture<LeaseKeepAliveResponse> answered = pendingKeepAlive;
            pendingKeepAlive = null;
            try {
                answered.join();
                lastRenewedMillis = now;
                lastKeepAliveError = null;
                if (leaseProblem != null) {
                    LOG.info("lease {} renewed again", Long.toHexString(leaseId));
                    leaseProblem = null;
                }
            } catch (CompletionException | CancellationException e) {
                if (EtcdCalls.isLeaseNotFound(e.getCause())) {
                    registerAgain();
                    return;
                }
                lastKeepAliveError = EtcdCalls.describe(e.getCause() != null ? e.getCause() : e);
            }
        }
        if (pendingKeepAlive != null && now - lastSentMillis > ttlMillis) {
            pendingKeepAlive.cancel(false);
            pendingKeepAlive = null;
        }
        if (pendingKeepAlive == null && now - lastSentMillis >= ttlMillis / 3) {
            pendingKeepAlive = client.getLeaseClient().keepAliveOnce(leaseId);
            lastSentMillis = now;
        }
        // One slow answer on a busy node is no outage; half the TTL without a renewal puts the lease at risk.
        if (leaseLost) {
            return;
        }
        if (now - lastRenewedMillis >= ttlMillis / 2) {
            reportLeaseProblem("lease " + Long.toHexString(leaseId) + " not renewed since "
                    + Instant.ofEpochMilli(lastRenewedMillis) + (lastKeepAliveError == null ? " (etcd does not answer)"
                    : ": " + lastKeepAliveError));
        } else if (leaseProblem == null) {
            writePods();
        }
    }

    /** The lease is gone (etcd did not hear from us for its TTL): same node, same CIDR, new lease. */
    private void registerAgain() {
        String lost = "lease " + Long.toHexString(leaseId) + " is gone (expired: etcd heard no keep-alive from this"
                + " node for its TTL of " + settings.leaseTTL().toSeconds() + " s; or revoked)";
        reportLeaseProblem(lost + "; registering again");
        leaseLost = true;
        NodeInfo node = self;
        try {
            Optional<String> owner = claim(node.podCIDR(), node.name());
            if (owner.isPresent() && !owner.get().equals(node.name())) {
                reportLeaseProblem(lost + "; pod CIDR " + node.podCIDR() + " now belongs to " + owner.get()
                        + " (" + layout.cidrKey(node.podCIDR()) + "): not registering again");
                return;
            }
            long lease = register(node);
            leaseId = lease;
            lastRenewedMillis = System.currentTimeMillis();
            unwrittenPods.addAll(ownPods.keySet());
            leaseLost = false;
            leaseProblem = null;
            LOG.info("registered {} again under lease {} with pod CIDR {}; republishing {} pods", node.name(),
                    Long.toHexString(lease), node.podCIDR(), ownPods.size());
            writePods();
        } catch (ClusterStateException e) {
            reportLeaseProblem(lost + "; registering again failed: " + e.getMessage());
        }
    }

    private void reportLeaseProblem(String problem) {
        if (!problem.equals(leaseProblem)) {
            LOG.warn("{}", problem);
        }
        leaseProblem = problem;
    }

    void publishPod(PodInfo pod) {
        NodeInfo node = joined();
        if (!pod.nodeName().equals(node.name())) {
            throw new IllegalArgumentException("nodeName: pod " + pod.namespace() + "/" + pod.name() + " is on '"
                    + pod.nodeName() + "', not this node '" + node.name() + "'");
        }
        String key = podKey(node, pod.namespace(), pod.name());
        ownPods.put(key, pod);
        unwrittenPods.add(key);
        onThread(this::writePods);
    }

    void withdrawPod(String namespace, String name) {
        String key = podKey(joined(), namespace, name);
        ownPods.remove(key);
        unwrittenPods.add(key);
        onThread(this::writePods);
    }

    private String podKey(NodeInfo node, String namespace, String name) {
        return layout.podKey(node.name(), EtcdLayout.checkName("namespace", namespace), EtcdLayout.checkName("name", name));
    }

    private NodeInfo joined() {
        NodeInfo node = self;
        if (node == null) {
            throw new IllegalStateException("pods are published after join()");
        }
        return node;
    }

    private void onThread(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the etcd cluster state is closed");
        }
    }

    /** Makes etcd hold ownPods for every unwritten key; what fails stays unwritten for the next tick. */
    private void writePods() {
        PutOption underLease = PutOption.builder().withLeaseId(leaseId).build();
        for (String key : List.copyOf(unwrittenPods)) {
            // Removed before reading ownPods: a publish racing with this write marks the key again.
            unwrittenPods.remove(key);
            PodInfo pod = ownPods.get(key);
            try {
                if (pod != null) {
                    await(kv().put(bytes(key), bytes(layout.encode(pod)), underLease), "publishing " + key);
                } else {
                    await(kv().delete(bytes(key)), "withdrawing " + key);
                }
            } catch (ClusterStateException e) {
                unwrittenPods.add(key);
                writeProblem = unwrittenPods.size() + " pod changes not yet written to etcd: " + e.getMessage();
                LOG.warn("{}", writeProblem);
                return;
            }
        }
        if (unwrittenPods.isEmpty()) {
            writeProblem = null;
        }
    }

    Optional<String> problem() {
        String lease = leaseProblem;
        return Optional.ofNullable(lease != null ? lease : writeProblem);
    }

    /** The lease of this node's keys (0 before join). */
    long leaseId() {
        return leaseId;
    }

    /** Revokes the lease: this node and its pods vanish from every other node now, not after the TTL. */
    void revoke() {
        if (self != null) {
            await(client.getLeaseClient().revoke(leaseId), "revoking lease " + Long.toHexString(leaseId));
            LOG.info("left the cluster: lease {} revoked", Long.toHexString(leaseId));
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(EtcdCalls.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
