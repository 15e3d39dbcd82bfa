package io.vesicle.agent.endpoint;

import io.vesicle.agent.api.ApiFailure;
import io.vesicle.agent.api.Validation;
import io.vesicle.agent.ipam.Ipam;
import io.vesicle.agent.ipam.Cidr;
import io.vesicle.agent.AgentConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.vesicle.agent.util.Throwables;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.Endpoint;
import io.vesicle.agent.datapath.PodInterface;
import io.vesicle.api.Messages;
import io.vesicle.api.Messages.Attachment;
import io.vesicle.loader.Errors;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The node's endpoints: a pod's veth wired to the datapath, its address and its state file.
 *
 * <p>Crash safety: a create writes its intent ({@link EndpointState#CREATING}) before it changes
 * anything, and a delete removes the state file last; so whenever the agent dies, its state files
 * name every veth, map entry and address it may have made, and {@link #restore()} finishes the
 * job: ready endpoints are re-attached in place, intents are rolled back, and whatever is left in
 * the maps and the node's namespace without an endpoint is removed.
 *
 * <p>Concurrency: operations on one attachment (containerID, ifname) are serialized by a lock
 * stripe; different pods proceed in parallel. Endpoint ids, addresses and names are chosen under
 * one short lock.
 */
public final class EndpointManager {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointManager.class);
    /** No identities are allocated yet: every pod carries this one. */
    static final int POD_IDENTITY = 0;
    /** Host-side names this agent gives: "lxc" + 11 hex digits. */
    static final Pattern HOST_IF = Pattern.compile("lxc[0-9a-f]{11}");
    private static final int STRIPES = 256;
    private static final Inet4Address ANY = Cidr.fromInt(0);

    private final AgentConfig config;
    private final NetNs nodeNs;
    private final Datapath datapath;
    private final Ipam ipam;
    private final StateStore store;
    private final Checkpoint checkpoint;
    private final Map<Attachment, EndpointState> endpoints = new ConcurrentHashMap<>();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    /** Guards choosing ids, addresses and names among all endpoints. */
    private final Object allocation = new Object();

    /** Called at each step of a create; tests throw an Error there to play a crash. */
    @FunctionalInterface
    public interface Checkpoint {
        Checkpoint NONE = step -> { };

        void reached(String step);
    }

    /**
     * @param nodeNs the node's namespace, where host-side veths live ({@code null}: this process's)
     */
    public EndpointManager(AgentConfig config, NetNs nodeNs, Datapath datapath, Ipam ipam, Path endpointDir,
                           Checkpoint checkpoint) {
        this.config = config;
        this.nodeNs = nodeNs;
        this.datapath = datapath;
        this.ipam = ipam;
        this.store = new StateStore(endpointDir);
        this.checkpoint = checkpoint;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    // ---- restore ----

    /** What {@link #restore()} found and did, for the log and the tests. */
    public record RestoreReport(int restored, int cleanedUp, int rolledBack, int staleMapEntries, int staleVeths) {
    }

    /**
     * Brings the node back to what the state files say, without touching running pods' traffic:
     * re-attaching replaces the tc filter in place and rewrites identical map entries.
     */
    public RestoreReport restore() {
        int restored = 0;
        int cleanedUp = 0;
        int rolledBack = 0;
        for (EndpointState state : store.loadAll()) {
            Attachment key = state.key();
            endpoints.put(key, state);
            try {
                if (!state.ready()) {
                    cleanup(key, state);
                    rolledBack++;
                    LOG.info("restore: rolled back the unfinished create of " + describe(key));
                } else if (Netlink.link(nodeNs, state.hostIf()).isEmpty()) {
                    cleanup(key, state);
                    cleanedUp++;
                    LOG.info("restore: " + describe(key) + " lost its veth " + state.hostIf() + " (pod gone); cleaned up");
                } else {
                    datapath.attach(datapathEndpoint(state));
                    restored++;
                }
            } catch (RuntimeException e) {
                LOG.error("restore: " + describe(key) + " could not be restored; it stays for a DELETE or GC" + ": " + Throwables.describe(e));
            }
        }
        int[] stale = reconcile();
        RestoreReport report = new RestoreReport(restored, cleanedUp, rolledBack, stale[0], stale[1]);
        LOG.info("restore: " + restored + " endpoints re-attached, " + cleanedUp + " cleaned up, " + rolledBack
                + " unfinished creates rolled back, " + stale[0] + " stale map entries and " + stale[1]
                + " stale veths removed");
        return report;
    }

    /** Removes map entries and lxc veths no endpoint accounts for. */
    private int[] reconcile() {
        Map<Inet4Address, Integer> expected = new HashMap<>();
        Set<String> hostIfs = new HashSet<>();
        for (EndpointState state : endpoints.values()) {
            hostIfs.add(state.hostIf());
        }
        Map<String, Integer> indexes = new HashMap<>();
        List<Netlink.Link> links = Netlink.links(nodeNs);
        for (Netlink.Link link : links) {
            indexes.put(link.name(), link.index());
        }
        for (EndpointState state : endpoints.values()) {
            Integer index = indexes.get(state.hostIf());
            if (state.ready() && index != null && state.ip() != null) {
                expected.put(state.ip(), index);
            }
        }
        int entries = 0;
        for (Map.Entry<EndpointKey, EndpointInfo> e : datapath.maps().endpoints().entries().entrySet()) {
            Integer index = expected.get(e.getKey().address());
            if (index == null || index != e.getValue().ifindex()) {
                datapath.maps().endpoints().remove(e.getKey());
                entries++;
            }
        }
        Set<Integer> expectedIndexes = new HashSet<>(expected.values());
        for (IfIndex index : datapath.maps().endpointsByIfindex().keys()) {
            if (!expectedIndexes.contains(index.value())) {
                datapath.maps().endpointsByIfindex().remove(index);
                entries++;
            }
        }
        int veths = 0;
        for (Netlink.Link link : links) {
            if (HOST_IF.matcher(link.name()).matches() && link.kind().equals("veth") && !hostIfs.contains(link.name())) {
                if (PodInterface.remove(nodeNs, link.name())) {
                    veths++;
                    LOG.info("restore: deleted " + link.name() + ", a veth no endpoint accounts for");
                }
            }
        }
        return new int[] {entries, veths};
    }

    // ---- create ----

    public Messages.Endpoint create(Messages.CreateEndpoint request) {
        Attachment key = Validation.attachment(request.containerID(), request.ifname());
        String netns = Validation.netns(request.netns());
        Validation.label("podNamespace", request.podNamespace());
        Validation.label("podName", request.podName());
        Cidr.AddressWithPrefix given = null;
        if (request.address() != null) {
            given = Validation.address(request.address());
            if (given.address().equals(config.gateway())) {
                throw ApiFailure.badRequest("address " + request.address() + " is the node's gateway");
            }
        }
        if (request.gateway() != null) {
            if (given == null) {
                throw ApiFailure.badRequest("gateway is given without an address");
            }
            Inet4Address gateway = Validation.ipv4("gateway", request.gateway());
            if (!gateway.equals(config.gateway())) {
                throw ApiFailure.badRequest("gateway " + request.gateway() + " is not this node's gateway "
                        + config.gateway().getHostAddress() + " (the only address the datapath answers ARP for)");
            }
        }
        if (!Files.exists(Path.of(netns))) {
            throw ApiFailure.notFound("netns " + netns + " does not exist");
        }
        ReentrantLock lock = lock(key);
        try {
            EndpointState existing = endpoints.get(key);
            if (existing != null) {
                if (existing.ready() && Netlink.link(nodeNs, existing.hostIf()).isPresent()
                        && (!existing.netns().equals(netns) || podSideMatches(existing))) {
                    throw alreadyExists(existing, netns);
                }
                // An earlier create that could not be undone, or an endpoint whose pod namespace
                // went away without a DELETE (its veth is gone, or going: the kernel tears a
                // deleted namespace down asynchronously): clear it and start afresh.
                cleanup(key, existing);
            }
            try (NetNs podNs = openPodNamespace(netns)) {
                if (podLink(podNs, netns, key.ifname()).isPresent()) {
                    throw ApiFailure.conflict("interface " + key.ifname() + " already exists in netns " + netns);
                }
                return create(key, request, netns, podNs, given);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether the endpoint's pod side is in its netns, with its MAC. */
    private static boolean podSideMatches(EndpointState state) {
        try (NetNs podNs = NetNs.open(Path.of(state.netns()))) {
            return Netlink.link(podNs, state.ifname())
                    .map(link -> MacAddress.of(link.mac()).toString().equals(state.mac())).orElse(false);
        } catch (NativeException e) {
            return false;
        }
    }

    /** CNI: an ADD must fail when the interface already exists in the container. */
    private static ApiFailure alreadyExists(EndpointState existing, String netns) {
        String where = existing.netns().equals(netns) ? "interface " + existing.key().ifname() + " in netns " + netns
                : "in netns " + existing.netns() + "; delete it first";
        return ApiFailure.conflict("endpoint " + describe(existing.key()) + " already exists (" + where + ")");
    }

    private Messages.Endpoint create(Attachment key, Messages.CreateEndpoint request, String netns, NetNs podNs,
                                     Cidr.AddressWithPrefix given) {
        String hostIf = hostIfName(key);
        EndpointState state;
        synchronized (allocation) {
            for (EndpointState other : endpoints.values()) {
                if (other.hostIf().equals(hostIf) || StateStore.fileName(other.key()).equals(StateStore.fileName(key))) {
                    throw ApiFailure.conflict("endpoint " + describe(other.key()) + " already uses the names of "
                            + describe(key) + " (" + hostIf + ", " + StateStore.fileName(key) + ")");
                }
                if (given != null && given.address().equals(other.ip())) {
                    throw ApiFailure.conflict("address " + given.address().getHostAddress() + " belongs to endpoint "
                            + describe(other.key()));
                }
            }
            if (given != null) {
                Optional<Attachment> holder = ipam.ownerOf(given.address());
                if (holder.isPresent() && !holder.get().equals(key)) {
                    throw ApiFailure.conflict("address " + given.address().getHostAddress()
                            + " is allocated by the agent IPAM to " + describe(holder.get()));
                }
            }
            state = new EndpointState(EndpointState.CREATING, lowestFreeId(), key.containerID(), key.ifname(), netns,
                    request.podNamespace(), request.podName(), hostIf, null, null,
                    given == null ? null : given.toString(), config.gateway().getHostAddress(), config.mtu(),
                    given == null, POD_IDENTITY);
            endpoints.put(key, state);
        }
        boolean allocated = false;
        boolean veth = false;
        boolean attached = false;
        try {
            store.write(state);
            checkpoint.reached("intent");
            if (given == null) {
                synchronized (allocation) {
                    boolean held = ipam.addressOf(key).isPresent();
                    Inet4Address ip = ipam.allocate(key, addressesInUse(key)::contains);
                    allocated = !held;
                    state = state.withAddress(ip.getHostAddress() + "/" + config.podCIDR().prefixLength());
                    endpoints.put(key, state);
                }
            }
            checkpoint.reached("ipam");
            if (PodInterface.remove(nodeNs, hostIf)) {
                LOG.info("endpoint " + describe(key) + ": deleted a leftover " + hostIf);
            }
            veth = true;
            PodInterface pod = PodInterface.create(nodeNs, hostIf, podNs, key.ifname(), state.ip(),
                    config.gateway(), config.mtu(), null);
            checkpoint.reached("veth");
            attached = true;
            EndpointInfo info = datapath.attach(new Endpoint(state.id(), hostIf, state.ip(), pod.mac(), POD_IDENTITY));
            checkpoint.reached("attach");
            EndpointState ready = state.asReady(info.nodeMac().toString(), pod.mac().toString());
            store.write(ready);
            endpoints.put(key, ready);
            checkpoint.reached("ready");
            return ready.toMessage();
        } catch (RuntimeException e) {
            rollback(key, state, allocated, veth, attached, e);
            throw translate(e, key, netns);
        }
    }

    /** Undoes a failed create; what cannot be undone stays described by the intent file. */
    private void rollback(Attachment key, EndpointState state, boolean allocated, boolean veth, boolean attached,
                          RuntimeException failure) {
        boolean clean = true;
        if (attached) {
            clean &= attempt(failure, () -> datapath.detach(state.id(), state.hostIf(), state.ip()));
        }
        if (veth) {
            clean &= attempt(failure, () -> PodInterface.remove(nodeNs, state.hostIf()));
        }
        if (allocated) {
            clean &= attempt(failure, () -> ipam.release(key));
        }
        if (clean) {
            clean = attempt(failure, () -> store.delete(key));
        }
        if (clean) {
            endpoints.remove(key);
        } else {
            LOG.warn("endpoint " + describe(key) + ": a failed create could not be fully undone; its intent stays"
                    + " for the next DELETE, GC or restart");
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

    private RuntimeException translate(RuntimeException e, Attachment key, String netns) {
        if (e instanceof ApiFailure) {
            return e;
        }
        if (e instanceof Ipam.ExhaustedException) {
            return new ApiFailure(507, e.getMessage(), e);
        }
        if (e instanceof NativeException n && n.errno() == Errors.EEXIST) {
            return new ApiFailure(409, "endpoint " + describe(key) + ": an interface already exists: "
                    + e.getMessage(), e);
        }
        return e;
    }

    private NetNs openPodNamespace(String netns) {
        try {
            return NetNs.open(Path.of(netns));
        } catch (NativeException e) {
            if (e.errno() == Errors.ENOENT) {
                throw ApiFailure.notFound("netns " + netns + " does not exist");
            }
            throw ApiFailure.badRequest("netns " + netns + " cannot be opened: " + e.getMessage());
        }
    }

    private static Optional<Netlink.Link> podLink(NetNs podNs, String netns, String ifname) {
        try {
            return Netlink.link(podNs, ifname);
        } catch (NativeException e) {
            if (e.errno() == Errors.EINVAL) {
                throw ApiFailure.badRequest("netns " + netns + " is not a network namespace");
            }
            throw e;
        }
    }

    /** Addresses endpoints other than key hold or are about to hold. Under the allocation lock. */
    private Set<Inet4Address> addressesInUse(Attachment key) {
        Set<Inet4Address> inUse = new HashSet<>();
        for (EndpointState state : endpoints.values()) {
            if (!state.key().equals(key) && state.ip() != null) {
                inUse.add(state.ip());
            }
        }
        return inUse;
    }

    private int lowestFreeId() {
        Set<Integer> used = new HashSet<>();
        for (EndpointState state : endpoints.values()) {
            used.add(state.id());
        }
        int id = 1;
        while (used.contains(id)) {
            id++;
        }
        return id;
    }

    /** "lxc" + the first 11 hex digits of sha256(containerID/ifname): stable, 14 characters. */
    public static String hostIfName(Attachment key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((key.containerID() + "/" + key.ifname()).getBytes(StandardCharsets.UTF_8));
            return "lxc" + HexFormat.of().formatHex(digest).substring(0, 11);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    // ---- read ----

    public List<Messages.Endpoint> list() {
        return endpoints.values().stream().filter(EndpointState::ready)
                .sorted(Comparator.comparingInt(EndpointState::id))
                .map(EndpointState::toMessage).toList();
    }

    public Messages.Endpoint get(String containerID, String ifname) {
        Attachment key = Validation.attachment(containerID, ifname);
        EndpointState state = endpoints.get(key);
        if (state == null) {
            throw ApiFailure.notFound("no endpoint " + describe(key));
        }
        if (!state.ready()) {
            throw ApiFailure.notFound("endpoint " + describe(key) + " is not ready (being created, or its create failed)");
        }
        return state.toMessage();
    }

    public int count() {
        return (int) endpoints.values().stream().filter(EndpointState::ready).count();
    }

    // ---- delete and gc ----

    /** Removes the endpoint and whatever of it is left; true when there was one. */
    public boolean delete(String containerID, String ifname) {
        Attachment key = Validation.attachment(containerID, ifname);
        ReentrantLock lock = lock(key);
        try {
            EndpointState state = endpoints.get(key);
            cleanup(key, state);
            if (state != null) {
                LOG.info("endpoint " + describe(key) + " deleted (" + state.hostIf() + ", " + state.address() + ")");
            }
            return state != null;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes what belongs to key, state or not: datapath entries, the veth (which takes the
     * pod side, its address and routes with it), the agent-IPAM address, and the state file last.
     * Works when any of it is already gone. Caller holds key's lock (or is restoring).
     */
    private void cleanup(Attachment key, EndpointState state) {
        String hostIf = state != null ? state.hostIf() : hostIfName(key);
        Inet4Address ip = state == null ? null
                : state.ip() != null ? state.ip() : ipam.addressOf(key).orElse(null);
        if (state != null && ip != null) {
            datapath.detach(state.id(), hostIf, ip);
        }
        PodInterface.remove(nodeNs, hostIf);
        ipam.release(key);
        store.delete(key);
        endpoints.remove(key);
    }

    /** Removes every endpoint and agent-IPAM allocation whose attachment is not in valid. */
    public List<Attachment> gc(List<Attachment> valid) {
        Set<Attachment> keep = new HashSet<>();
        for (Attachment a : valid) {
            keep.add(Validation.attachment(a.containerID(), a.ifname()));
        }
        Set<Attachment> candidates = new LinkedHashSet<>(endpoints.keySet());
        for (Attachment owner : ipam.allocations().values()) {
            if (!owner.containerID().isEmpty()) {
                candidates.add(owner);
            }
        }
        List<Attachment> removed = new ArrayList<>();
        for (Attachment key : candidates) {
            if (keep.contains(key)) {
                continue;
            }
            ReentrantLock lock = lock(key);
            try {
                EndpointState state = endpoints.get(key);
                if (state == null && ipam.addressOf(key).isEmpty()) {
                    continue; // deleted meanwhile
                }
                cleanup(key, state);
                removed.add(key);
            } finally {
                lock.unlock();
            }
        }
        if (!removed.isEmpty()) {
            LOG.info("gc: removed " + removed.size() + " attachments not in the valid list: " + removed.stream()
                    .map(EndpointManager::describe).toList());
        }
        return removed;
    }

    // ---- IPAM for the plugin ----

    public Messages.IpamAllocation allocate(Messages.IpamRequest request) {
        Attachment key = Validation.attachment(request.containerID(), request.ifname());
        Inet4Address ip;
        synchronized (allocation) {
            try {
                ip = ipam.allocate(key, addressesInUse(key)::contains);
            } catch (Ipam.ExhaustedException e) {
                throw new ApiFailure(507, e.getMessage(), e);
            }
        }
        return new Messages.IpamAllocation(ip.getHostAddress() + "/" + config.podCIDR().prefixLength(),
                config.gateway().getHostAddress());
    }

    public Messages.IpamRelease release(Messages.IpamRequest request) {
        Attachment key = Validation.attachment(request.containerID(), request.ifname());
        // An endpoint still using the address keeps it out of new allocations (addressesInUse).
        return new Messages.IpamRelease(ipam.release(key).stream().map(Inet4Address::getHostAddress).toList());
    }

    // ---- check ----

    public Messages.CheckResult check(String containerID, String ifname) {
        Attachment key = Validation.attachment(containerID, ifname);
        ReentrantLock lock = lock(key);
        try {
            EndpointState state = endpoints.get(key);
            if (state == null) {
                throw ApiFailure.notFound("no endpoint " + describe(key));
            }
            if (!state.ready()) {
                throw ApiFailure.conflict("endpoint " + describe(key) + " is not ready: its create did not finish");
            }
            List<String> differences = differences(state);
            if (!differences.isEmpty()) {
                throw ApiFailure.conflict("endpoint " + describe(key) + ": " + String.join("; ", differences));
            }
            return new Messages.CheckResult(true);
        } finally {
            lock.unlock();
        }
    }

    private List<String> differences(EndpointState state) {
        List<String> diffs = new ArrayList<>();
        Inet4Address ip = state.ip();
        Inet4Address gateway = Cidr.parseAddress(state.gateway());
        Optional<Netlink.Link> host = Netlink.link(nodeNs, state.hostIf());
        if (host.isEmpty()) {
            diffs.add("host veth " + state.hostIf() + " is missing");
        } else {
            Netlink.Link veth = host.get();
            if (!veth.up()) {
                diffs.add("host veth " + state.hostIf() + " is down");
            }
            EndpointInfo expected = new EndpointInfo(ip, veth.index(), state.id(), state.identity(), 0,
                    MacAddress.parse(state.mac()), MacAddress.of(veth.mac()));
            Optional<EndpointInfo> byAddress = datapath.maps().endpoints().get(new EndpointKey(ip));
            if (!byAddress.equals(Optional.of(expected))) {
                diffs.add("datapath entry for " + ip.getHostAddress() + " is " + byAddress.map(Object::toString)
                        .orElse("missing") + ", expected " + expected);
            }
            Optional<EndpointInfo> byIndex = datapath.maps().endpointsByIfindex().get(new IfIndex(veth.index()));
            if (!byIndex.equals(Optional.of(expected))) {
                diffs.add("datapath entry for ifindex " + veth.index() + " is " + byIndex.map(Object::toString)
                        .orElse("missing") + ", expected " + expected);
            }
            OptionalInt program = TcLink.query(nodeNs, veth.index(), TcDirection.INGRESS);
            if (program.isEmpty()) {
                diffs.add("no datapath program on tc ingress of " + state.hostIf());
            } else if (program.getAsInt() != datapath.fromContainer().id()) {
                diffs.add("tc ingress of " + state.hostIf() + " runs program " + program.getAsInt() + ", not "
                        + datapath.fromContainer().id());
            }
        }
        if (!Files.exists(Path.of(state.netns()))) {
            diffs.add("netns " + state.netns() + " is gone");
            return diffs;
        }
        try (NetNs podNs = NetNs.open(Path.of(state.netns()))) {
            Optional<Netlink.Link> pod = Netlink.link(podNs, state.ifname());
            if (pod.isEmpty()) {
                diffs.add("interface " + state.ifname() + " is missing from netns " + state.netns());
                return diffs;
            }
            Netlink.Link link = pod.get();
            if (!link.up()) {
                diffs.add(state.ifname() + " is down");
            }
            if (!MacAddress.of(link.mac()).toString().equals(state.mac())) {
                diffs.add(state.ifname() + " has MAC " + MacAddress.of(link.mac()) + ", expected " + state.mac());
            }
            // No MTU check: plugins chained after ours (tuning) may set it. A changed MAC is checked,
            // since the datapath refuses frames from any other.
            boolean hasAddress = Netlink.addresses(podNs, link.index()).stream()
                    .anyMatch(a -> a.address().equals(ip) && a.prefixLength() == 32);
            if (!hasAddress) {
                diffs.add(state.ifname() + " lacks address " + ip.getHostAddress() + "/32");
            }
            List<Netlink.Route> routes = Netlink.routes(podNs, link.index());
            boolean gatewayRoute = routes.stream().anyMatch(r -> r.destination().equals(gateway)
                    && r.prefixLength() == 32 && r.gateway() == null);
            boolean defaultRoute = routes.stream().anyMatch(r -> r.destination().equals(ANY) && r.prefixLength() == 0
                    && gateway.equals(r.gateway()));
            if (!gatewayRoute) {
                diffs.add("no route to the gateway " + gateway.getHostAddress() + "/32 on " + state.ifname());
            }
            if (!defaultRoute) {
                diffs.add("no default route via " + gateway.getHostAddress() + " on " + state.ifname());
            }
        }
        return diffs;
    }

    // ---- helpers ----

    private Endpoint datapathEndpoint(EndpointState state) {
        return new Endpoint(state.id(), state.hostIf(), state.ip(), MacAddress.parse(state.mac()), state.identity());
    }

    private ReentrantLock lock(Attachment key) {
        ReentrantLock lock = stripes[Math.floorMod(Objects.hash(key.containerID(), key.ifname()), STRIPES)];
        lock.lock();
        return lock;
    }

    static String describe(Attachment key) {
        return key.containerID() + "/" + key.ifname();
    }
}
