package io.vesicle.agent.endpoint;

import io.vesicle.agent.core.AttachmentKey;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod interface the agent manages: who it belongs to, what it should be, and where it is in its
 * life. Its kernel state is derived from it by a build ({@link EndpointManager}); every change goes
 * through its own {@link EndpointQueue}, so builds of one endpoint never overlap.
 */
public final class Endpoint {
    private static final Logger LOG = LoggerFactory.getLogger(Endpoint.class);

    /** Where an endpoint is in its life; a transition not in {@link #next} is refused. */
    public enum State {
        /** Its intent is written; the first build has not finished. */
        CREATING,
        /** Read back from disk at start; its restore build has not finished. */
        RESTORING,
        /** The kernel holds what it should. */
        READY,
        /** A build is bringing the kernel to a changed desired state. */
        REGENERATING,
        /** A build failed; the endpoint stays for another build, a DELETE or GC. */
        NOT_READY,
        /** Being removed; its intent to go is written. */
        DISCONNECTING,
        /** Gone from the kernel and the disk. */
        DISCONNECTED;

        private static final Map<State, Set<State>> NEXT = Map.of(
                CREATING, EnumSet.of(READY, NOT_READY, DISCONNECTING),
                RESTORING, EnumSet.of(READY, NOT_READY, DISCONNECTING),
                READY, EnumSet.of(REGENERATING, DISCONNECTING),
                REGENERATING, EnumSet.of(READY, NOT_READY, DISCONNECTING),
                NOT_READY, EnumSet.of(REGENERATING, DISCONNECTING),
                DISCONNECTING, EnumSet.of(DISCONNECTED, DISCONNECTING),
                DISCONNECTED, EnumSet.noneOf(State.class));

        public boolean mayBecome(State next) {
            return NEXT.get(this).contains(next);
        }
    }

    private final AttachmentKey key;
    private final int id;
    private final String network;
    private final Path netns;
    private final String podNamespace;
    private final String podName;
    private final Inet4Address gateway;
    private final int mtu;
    private final int identity;
    final EndpointQueue queue;
    private volatile State state;
    private volatile String mac;
    private volatile String hostMac;

    Endpoint(State state, AttachmentKey key, int id, String network, Path netns, String podNamespace,
             String podName, Inet4Address gateway, int mtu, int identity, String mac, String hostMac,
             EndpointQueue queue) {
        this.state = Objects.requireNonNull(state, "state");
        this.key = Objects.requireNonNull(key, "key");
        this.id = id;
        this.network = network;
        this.netns = netns;
        this.podNamespace = podNamespace;
        this.podName = podName;
        this.gateway = gateway;
        this.mtu = mtu;
        this.identity = identity;
        this.mac = mac;
        this.hostMac = hostMac;
        this.queue = queue;
    }

    public AttachmentKey key() {
        return key;
    }

    public int id() {
        return id;
    }

    /** The CNI network (the configuration's name) it was added for; null when unknown. */
    public String network() {
        return network;
    }

    /** The pod's network namespace file; null when unknown (its state was rebuilt). */
    public Path netns() {
        return netns;
    }

    public String podNamespace() {
        return podNamespace;
    }

    public String podName() {
        return podName;
    }

    public String hostIf() {
        return key.hostIfName();
    }

    public Inet4Address gateway() {
        return gateway;
    }

    public int mtu() {
        return mtu;
    }

    public int identity() {
        return identity;
    }

    public State state() {
        return state;
    }

    /** The pod interface's MAC once the veth exists. */
    public String mac() {
        return mac;
    }

    public String hostMac() {
        return hostMac;
    }

    void learn(String mac, String hostMac) {
        this.mac = mac;
        this.hostMac = hostMac;
    }

    /**
     * Moves to next.
     *
     * @throws IllegalStateException when the table does not allow it
     */
    synchronized void transition(State next, String why) {
        if (!state.mayBecome(next)) {
            LOG.error("endpoint {}: refused transition {} -> {} ({})", key, state, next, why);
            throw new IllegalStateException("endpoint " + key + " cannot go from " + state + " to " + next);
        }
        if (state != next) {
            LOG.debug("endpoint {}: {} -> {} ({})", key, state, next, why);
        }
        state = next;
    }

    @Override
    public String toString() {
        return "endpoint " + id + " " + key + " (" + state + ")";
    }
}
