package io.vesicle.cluster.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvents;
import io.vesicle.cluster.EventThread;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.etcd.EtcdLayout.Entry;
import io.vesicle.cluster.etcd.EtcdLayout.MalformedEntryException;
import io.vesicle.cluster.etcd.EtcdLayout.NodeEntry;
import io.vesicle.cluster.etcd.EtcdLayout.PodEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static io.vesicle.cluster.etcd.EtcdCalls.await;
import static io.vesicle.cluster.etcd.EtcdCalls.bytes;
import static io.vesicle.cluster.etcd.EtcdCalls.text;

/**
 * Lists nodes/ and pods/ and watches them from the listing's revision on, delivering events on
 * one thread ("vesicle-etcd-events"). Any break of the watch (etcd gone, revision compacted,
 * stream ended) makes it list again after a backoff and deliver the difference: a delete for
 * what it had delivered and is gone, an upsert for what exists, then Synced.
 */
final class StoreWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StoreWatch.class);
    private static final long FIRST_RETRY_MILLIS = 200;
    private static final long MAX_RETRY_MILLIS = 5_000;

    private final Client client;
    private final EtcdLayout layout;
    private final SyncHooks hooks;
    private final ScheduledThreadPoolExecutor thread;
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();

    // Confined to thread:
    private ClusterEvents handler;
    /** What the handler holds: the entry delivered for each key. */
    private Map<String, Entry> delivered = new HashMap<>();
    /** Keys refused at a mod revision, so a relisting does not log the same refusal again. */
    private final Map<String, Long> refused = new HashMap<>();
    private Watch.Watcher watcher;
    /** Tells a live watcher's callbacks from those of watchers already abandoned. */
    private long watchGeneration;
    private long retryMillis = FIRST_RETRY_MILLIS;

    private volatile String problem;
    private volatile boolean synced;
    private volatile boolean closed;

    StoreWatch(Client client, EtcdLayout layout, SyncHooks hooks) {
        this.client = client;
        this.layout = layout;
        this.hooks = hooks;
        this.thread = EventThread.named("vesicle-etcd-events");
    }

    CompletableFuture<Void> start(ClusterEvents handler) {
        onThread(() -> {
            this.handler = handler;
            relist();
        });
        return firstSync;
    }

    boolean hasSynced() {
        return synced;
    }

    Optional<String> problem() {
        return Optional.ofNullable(problem);
    }

    private void relist() {
        if (closed) {
            return;
        }
        hooks.beforeListing();
        GetResponse listing;
        try {
            listing = await(client.getKVClient().get(bytes(layout.root()), GetOption.builder().isPrefix(true).build()),
                    "listing " + layout.root());
        } catch (ClusterStateException e) {
            retryLater(e.getMessage());
            return;
        }
        long revision = listing.getHeader().getRevision();
        Map<String, Entry> listed = new LinkedHashMap<>();
        for (KeyValue kv : listing.getKvs()) {
            String key = text(kv.getKey());
            Entry entry = parse(key, kv);
            if (entry != null) {
                listed.put(key, entry);
            }
        }
        refused.keySet().retainAll(listing.getKvs().stream().map(kv -> text(kv.getKey())).toList());
        Set<String> listedIdentities = new HashSet<>();
        listed.values().forEach(entry -> listedIdentities.add(entry.identity()));
        // Deletes first: an object whose key changed meanwhile is upserted again below.
        delivered.forEach((key, entry) -> {
            if (!listed.containsKey(key) && !listedIdentities.contains(entry.identity())) {
                deliver(deleted(key, entry));
            }
        });
        delivered = listed;
        listed.forEach((key, entry) -> deliver(upserted(key, entry)));
        deliver(new ClusterEvent.Synced(layout.root() + "@" + revision));
        LOG.info("listed {} nodes and {} pods under {} at revision {}{}", count(listed, NodeEntry.class),
                count(listed, PodEntry.class), layout.root(), revision,
                refused.isEmpty() ? "" : " (" + refused.size() + " malformed entries refused)");
        if (problem != null) {
            LOG.info("in step with etcd again at revision {} (was: {})", revision, problem);
        }
        problem = null;
        retryMillis = FIRST_RETRY_MILLIS;
        synced = true;
        firstSync.complete(null);
        hooks.beforeWatch(revision + 1);
        watchFrom(revision + 1);
    }

    private static long count(Map<String, Entry> entries, Class<? extends Entry> kind) {
        return entries.values().stream().filter(kind::isInstance).count();
    }

    private void watchFrom(long revision) {
        long generation = ++watchGeneration;
        // requireLeader: an etcd member cut off from its cluster's leader ends the watch instead of
        // leaving it silent, so we list again (from a member that has one) rather than miss changes.
        WatchOption option = WatchOption.builder().isPrefix(true).withRevision(revision).withRequireLeader(true).build();
        watcher = client.getWatchClient().watch(bytes(layout.root()), option, Watch.listener(
                response -> onThread(() -> onWatchResponse(generation, response)),
                error -> onThread(() -> onWatchBroken(generation, describe(error))),
                () -> onThread(() -> onWatchBroken(generation, "etcd ended the watch"))));
    }

    private void onWatchResponse(long generation, WatchResponse response) {
        if (generation != watchGeneration || closed) {
            return;
        }
        for (WatchEvent event : response.getEvents()) {
            KeyValue kv = event.getKeyValue();
            String key = text(kv.getKey());
            Entry entry = event.getEventType() == WatchEvent.EventType.PUT ? parse(key, kv) : null;
            if (event.getEventType() == WatchEvent.EventType.DELETE) {
                refused.remove(key);
            }
            Entry previous = entry == null ? delivered.remove(key) : delivered.put(key, entry);
            if (entry != null && !entry.equals(previous)) {
                deliver(upserted(key, entry));
            } else if (entry == null && previous != null) {
                deliverRemoval(key, previous);
            }
        }
    }

    /** A key went away (or turned malformed): its object is deleted unless another key still holds it. */
    private void deliverRemoval(String key, Entry removed) {
        for (Map.Entry<String, Entry> other : delivered.entrySet()) {
            if (other.getValue().identity().equals(removed.identity())) {
                deliver(upserted(other.getKey(), other.getValue()));
                return;
            }
        }
        deliver(deleted(key, removed));
    }

    private void onWatchBroken(long generation, String reason) {
        if (generation != watchGeneration || closed) {
            return;
        }
        abandonWatch();
        retryLater("watch broken: " + reason);
    }

    private void abandonWatch() {
        watchGeneration++;
        if (watcher != null) {
            watcher.close();
            watcher = null;
        }
    }

    private void retryLater(String reason) {
        if (reason.equals(problem)) {
            LOG.debug("{}; listing again in {} ms", reason, retryMillis);
        } else {
            LOG.warn("{}; listing again in {} ms", reason, retryMillis);
        }
        problem = reason;
        // The first listing failing fails start(); listing goes on, and hasSynced() turns true when one succeeds.
        firstSync.completeExceptionally(new ClusterStateException(reason));
        try {
            thread.schedule(this::relist, retryMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return; // closed meanwhile
        }
        retryMillis = Math.min(retryMillis * 2, MAX_RETRY_MILLIS);
    }

    private String describe(Throwable error) {
        if (error instanceof CompactedException compacted) {
            return "etcd compacted its history past our revision (compacted revision "
                    + compacted.getCompactedRevision() + ")";
        }
        return EtcdCalls.describe(error);
    }

    /** The entry, or null when the key is neither node nor pod, or malformed (logged once per revision). */
    private Entry parse(String key, KeyValue kv) {
        try {
            Entry entry = layout.parse(key, kv.getValue().getBytes());
            refused.remove(key);
            return entry;
        } catch (MalformedEntryException e) {
            Long previous = refused.put(key, kv.getModRevision());
            if (previous == null || previous != kv.getModRevision()) {
                LOG.warn("refused {}: {}", key, e.getMessage());
            }
            return null;
        }
    }

    private static ClusterEvent upserted(String key, Entry entry) {
        if (entry instanceof NodeEntry node) {
            return new ClusterEvent.NodeUpserted(node.node(), key);
        }
        return new ClusterEvent.PodUpserted(((PodEntry) entry).pod(), key);
    }

    private static ClusterEvent deleted(String key, Entry entry) {
        if (entry instanceof NodeEntry node) {
            return new ClusterEvent.NodeDeleted(node.node().name(), key);
        }
        PodEntry pod = (PodEntry) entry;
        return new ClusterEvent.PodDeleted(pod.pod().namespace(), pod.pod().name(), key);
    }

    private void deliver(ClusterEvent event) {
        if (closed) {
            return;
        }
        try {
            handler.on(event);
        } catch (RuntimeException e) {
            LOG.error("the cluster event handler failed on {}", event, e);
        }
    }

    private void onThread(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: jetcd may still call back while its watcher winds down
        }
    }

    @Override
    public void close() {
        closed = true;
        onThread(this::abandonWatch);
        thread.shutdown();
        try {
            if (!thread.awaitTermination(EtcdCalls.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Test seams: a test holds the thread here to change or compact the store at a chosen moment. */
    interface SyncHooks {
        SyncHooks NONE = new SyncHooks() {
        };

        default void beforeListing() {
        }

        default void beforeWatch(long fromRevision) {
        }
    }
}
