package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.kubernetes.KubernetesObjects.MalformedObjectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;

/**
 * One kind the cluster state informs on (Nodes, Pods or Namespaces): its fabric8 informer, whose
 * callbacks only queue work onto the owner's event thread, and, confined to that thread, what was
 * delivered of each object (so that an object that turns malformed or loses its address is
 * deleted, and an update changing nothing we carry is not passed on) and what was refused (so
 * that a malformed object is logged once per reason, not on every update).
 *
 * @param <T> the API type
 * @param <V> what the handler is given of it
 */
final class Informed<T extends HasMetadata, V> {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesClusterState.class);

    /** What the handler is given of an object: empty when it is (for now) nothing to route to. */
    @FunctionalInterface
    interface Conversion<T, V> {
        Optional<V> convert(T object) throws MalformedObjectException;
    }

    private final KubernetesClusterState owner;
    private final String kind;
    private final SharedIndexInformer<T> informer;
    private final Conversion<T, V> conversion;
    private final BiFunction<V, String, ClusterEvent> upserted;
    private final BiFunction<T, String, ClusterEvent> deleted;
    private final Map<String, V> delivered = new HashMap<>();
    private final Map<String, String> refused = new HashMap<>();
    private boolean listedOnce;
    private boolean listing;
    private Instant brokenSince;
    private volatile String lastError;

    Informed(KubernetesClusterState owner, String kind, SharedIndexInformer<T> informer, Conversion<T, V> conversion,
             BiFunction<V, String, ClusterEvent> upserted, BiFunction<T, String, ClusterEvent> deleted) {
        this.owner = owner;
        this.kind = kind;
        this.informer = informer;
        this.conversion = conversion;
        this.upserted = upserted;
        this.deleted = deleted;
    }

    String plural() {
        return kind + "s";
    }

    SharedIndexInformer<T> informer() {
        return informer;
    }

    CompletableFuture<Void> start() {
        informer.addEventHandler(new ResourceEventHandler<T>() {
            @Override
            public void onBeforeList(String lastSyncResourceVersion) {
                owner.enqueue(() -> listing = true);
            }

            @Override
            public void onList(String resourceVersion, boolean remainedEmpty) {
                owner.enqueue(() -> listed(resourceVersion));
            }

            @Override
            public void onAdd(T object) {
                owner.enqueue(() -> upsert(object, false));
            }

            @Override
            public void onUpdate(T previous, T object) {
                owner.enqueue(() -> upsert(object, false));
            }

            @Override
            public void onDelete(T object, boolean finalStateUnknown) {
                owner.enqueue(() -> delete(object));
            }
        });
        informer.exceptionHandler((started, failure) -> {
            lastError = failure.getMessage();
            // An agent keeps trying; only a refusal of the first listing is final (retrying cannot help).
            return started || !isRefusal(failure);
        });
        return informer.start().toCompletableFuture();
    }

    /** Whether the API server refused (unauthorized, forbidden, no such resource); fabric8 wraps its exceptions. */
    private static boolean isRefusal(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof KubernetesClientException clientException) {
                int code = clientException.getCode();
                if (code == 401 || code == 403 || code == 404) {
                    return true;
                }
            }
        }
        return false;
    }

    void stop() {
        informer.stop();
    }

    boolean hasListed() {
        return listedOnce;
    }

    boolean isListing() {
        return listing;
    }

    /** On the event thread. */
    private void upsert(T object, boolean evenIfUnchanged) {
        String origin = KubernetesObjects.origin(kind, object);
        Optional<V> info;
        try {
            info = conversion.convert(object);
            refused.remove(origin);
        } catch (MalformedObjectException e) {
            if (!e.getMessage().equals(refused.put(origin, e.getMessage()))) {
                LOG.warn("{} refused: {}; treated as absent", origin, e.getMessage());
            }
            info = Optional.empty();
        }
        if (info.isPresent()) {
            V previous = delivered.put(origin, info.get());
            if (evenIfUnchanged || !info.get().equals(previous)) {
                owner.deliver(upserted.apply(info.get(), origin));
            }
        } else if (delivered.remove(origin) != null) {
            owner.deliver(deleted.apply(object, origin));
        }
    }

    /** On the event thread. */
    private void delete(T object) {
        String origin = KubernetesObjects.origin(kind, object);
        refused.remove(origin);
        if (delivered.remove(origin) != null) {
            owner.deliver(deleted.apply(object, origin));
        }
    }

    /**
     * On the event thread. fabric8 has delivered the listing (and, on a relisting, deletes for
     * what vanished); a relisting upserts every object again, as {@code ClusterState} promises.
     */
    private void listed(String resourceVersion) {
        if (listedOnce) {
            informer.getStore().list().forEach(object -> upsert(object, true));
        }
        listedOnce = true;
        listing = false;
        owner.listed(this, resourceVersion);
    }

    /** On the event thread: whether the watch has been down for at least {@code grace}. */
    boolean checkWatching(Duration grace) {
        if (informer.isWatching()) {
            brokenSince = null;
            lastError = null;
            return false;
        }
        if (brokenSince == null) {
            brokenSince = Instant.now();
        }
        return !brokenSince.plus(grace).isAfter(Instant.now());
    }

    /** "Pods (down since ...: last error)". */
    String describeBreak() {
        String error = lastError;
        return plural() + " (down since " + brokenSince + (error == null ? "" : ": " + error) + ")";
    }
}
