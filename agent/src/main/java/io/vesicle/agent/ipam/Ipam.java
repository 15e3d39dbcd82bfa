package io.vesicle.agent.ipam;

import io.vesicle.cluster.Cidr;
import io.vesicle.agent.core.AgentException;
import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.core.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one owner of pod addresses on the node: every address a pod holds is recorded here, whether
 * this agent handed it out ({@link Source#AGENT}) or a delegated IPAM plugin did
 * ({@link Source#DELEGATED}), so conflicts are decided in one place.
 *
 * <p>On disk, in the style of the reference host-local plugin: one file per address, named by the
 * address, holding its owner ({@code containerID} and {@code ifname} lines, then {@code key=value}
 * lines: {@code network}, {@code source}, {@code prefix}). A file is created by hard-linking a
 * complete, synced temporary file to its name, which fails when the name exists: a crash never
 * leaves a half-written allocation, and two writers can never both get an address. Files of
 * earlier versions (two lines) read as agent allocations of no known network.
 *
 * <p>An address is acceptable for a pod only inside the pool with a prefix at least as long as the
 * pool's, and never the pool's network, broadcast or gateway address nor an address of the node.
 */
public final class Ipam {
    private static final Logger LOG = LoggerFactory.getLogger(Ipam.class);
    private static final String TMP_SUFFIX = ".tmp";
    /** Owner of an allocation file that names none: its address stays out of use. */
    private static final AttachmentKey UNKNOWN_OWNER = new AttachmentKey("", "");

    /** Who handed the address out. */
    public enum Source {
        AGENT, DELEGATED;

        String text() {
            return name().toLowerCase();
        }
    }

    /**
     * @param network the CNI network the attachment belongs to; null when unknown (earlier versions)
     */
    public record Allocation(Inet4Address address, int prefixLength, AttachmentKey owner, String network,
                             Source source) {
        /** "10.244.1.5/24". */
        public String cidr() {
            return address.getHostAddress() + "/" + prefixLength;
        }
    }

    private final Path dir;
    private final Cidr pool;
    private final Inet4Address gateway;
    private final Supplier<Set<Inet4Address>> nodeAddresses;
    private final Map<Inet4Address, Allocation> byAddress = new HashMap<>();
    private final Map<AttachmentKey, Allocation> byOwner = new HashMap<>();
    /** Offset after the last one handed out: addresses are reused as late as possible. */
    private long cursor = 1;

    /**
     * Opens (creating it 0700 if needed) the allocation directory and reads what it holds.
     *
     * @param nodeAddresses the node's own addresses, asked for whenever an address is chosen or checked
     */
    public Ipam(Path dir, Cidr pool, Inet4Address gateway, Supplier<Set<Inet4Address>> nodeAddresses) {
        this.dir = dir;
        this.pool = pool;
        this.gateway = gateway;
        this.nodeAddresses = nodeAddresses;
        try {
            DurableFiles.privateDirectory(dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.sorted().toList()) {
                    load(file);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IPAM state in " + dir, e);
        }
    }

    public Ipam(Path dir, Cidr pool, Inet4Address gateway) {
        this(dir, pool, gateway, Set::of);
    }

    private void load(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.startsWith(".") && name.endsWith(TMP_SUFFIX)) {
            Files.deleteIfExists(file); // an allocation that never got its name
            return;
        }
        Inet4Address address;
        try {
            address = Cidr.parseAddress(name);
        } catch (IllegalArgumentException e) {
            return; // not ours
        }
        Allocation allocation = parse(address, Files.readString(file, StandardCharsets.UTF_8));
        if (allocation.owner().equals(UNKNOWN_OWNER)) {
            LOG.warn("ipam: {} does not name an owner (containerID and ifname lines); address kept out of use", file);
        }
        remember(allocation);
    }

    private Allocation parse(Inet4Address address, String content) {
        String[] lines = content.split("\r?\n");
        if (lines.length < 2 || lines[0].isEmpty() || lines[1].isEmpty()) {
            return new Allocation(address, 32, UNKNOWN_OWNER, null, Source.AGENT);
        }
        String network = null;
        Source source = Source.AGENT;
        int prefix = pool.prefixLength();
        for (int i = 2; i < lines.length; i++) {
            int eq = lines[i].indexOf('=');
            String key = eq < 0 ? lines[i] : lines[i].substring(0, eq);
            String value = eq < 0 ? "" : lines[i].substring(eq + 1);
            try {
                switch (key) {
                    case "network" -> network = value.isEmpty() ? null : value;
                    case "source" -> source = Source.valueOf(value.toUpperCase());
                    case "prefix" -> prefix = Integer.parseInt(value);
                    default -> { } // written by a later version
                }
            } catch (IllegalArgumentException e) {
                LOG.warn("ipam: allocation of {} has a bad line '{}'; ignored", address.getHostAddress(), lines[i]);
            }
        }
        return new Allocation(address, prefix, new AttachmentKey(lines[0], lines[1]), network, source);
    }

    private static byte[] format(Allocation a) {
        StringBuilder s = new StringBuilder();
        s.append(a.owner().containerID()).append('\n').append(a.owner().ifname()).append('\n');
        if (a.network() != null) {
            s.append("network=").append(a.network()).append('\n');
        }
        s.append("source=").append(a.source().text()).append('\n');
        s.append("prefix=").append(a.prefixLength()).append('\n');
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    public Cidr pool() {
        return pool;
    }

    public Inet4Address gateway() {
        return gateway;
    }

    /**
     * The agent allocation owner holds, else a new one.
     *
     * @throws AgentException EXHAUSTED when every address is held; CONFLICT when owner holds a
     *                        delegated address
     */
    public synchronized Allocation allocate(AttachmentKey owner, String network) {
        Allocation held = byOwner.get(owner);
        if (held != null) {
            if (held.source() != Source.AGENT) {
                throw AgentException.conflict(owner + " already holds " + held.cidr() + ", given by a delegated IPAM");
            }
            return held;
        }
        Set<Inet4Address> node = nodeAddresses.get();
        long size = pool.size();
        for (long i = 0; i < size; i++) {
            long offset = (cursor + i) % size;
            Inet4Address candidate = pool.address(offset);
            if (!usable(candidate) || byAddress.containsKey(candidate) || node.contains(candidate)) {
                continue;
            }
            Allocation allocation = new Allocation(candidate, pool.prefixLength(), owner, network, Source.AGENT);
            if (claim(allocation)) {
                cursor = offset + 1;
                return allocation;
            }
        }
        throw AgentException.exhausted("no free address in " + pool + " (" + allocated() + " allocated)");
    }

    /**
     * Records an address a delegated IPAM plugin gave owner, after checking it may be a pod's.
     *
     * @throws AgentException INVALID (field "address") when it may not; CONFLICT when another
     *                        attachment holds it or owner holds another
     */
    public synchronized Allocation reserve(AttachmentKey owner, String network, Inet4Address address,
                                           int prefixLength) {
        check(address, prefixLength);
        Allocation mine = new Allocation(address, prefixLength, owner, network, Source.DELEGATED);
        Allocation holder = byAddress.get(address);
        if (holder != null && !holder.owner().equals(owner)) {
            throw AgentException.conflict("address " + address.getHostAddress() + " is held by " + describe(holder));
        }
        Allocation held = byOwner.get(owner);
        if (held != null && !held.address().equals(address)) {
            throw AgentException.conflict(owner + " already holds " + held.cidr());
        }
        if (held != null) {
            return held;
        }
        if (!claim(mine)) {
            throw AgentException.conflict("address " + address.getHostAddress() + " is held by "
                    + describe(byAddress.get(address)));
        }
        return mine;
    }

    private static String describe(Allocation a) {
        return a == null ? "another writer" : a.owner().equals(UNKNOWN_OWNER) ? "an allocation file naming no owner"
                : a.owner() + (a.source() == Source.AGENT ? " (agent IPAM)" : " (delegated IPAM)");
    }

    /**
     * Whether a pod may have address/prefixLength: inside the pool with at least its prefix, not
     * its network, broadcast or gateway, not a node address.
     *
     * @throws AgentException INVALID naming field "address"
     */
    public void check(Inet4Address address, int prefixLength) {
        String text = address.getHostAddress() + "/" + prefixLength;
        if (!pool.contains(address)) {
            throw AgentException.invalid("address", "address " + text + " is outside the pod pool " + pool);
        }
        if (prefixLength < pool.prefixLength()) {
            throw AgentException.invalid("address", "address " + text + " has a shorter prefix than the pod pool "
                    + pool + " (a pod's prefix lies within the pool)");
        }
        if (address.equals(gateway)) {
            throw AgentException.invalid("address", "address " + text + " is the pods' gateway");
        }
        if (address.equals(pool.network()) || address.equals(pool.broadcast())) {
            throw AgentException.invalid("address", "address " + text + " is the network or broadcast address of "
                    + pool);
        }
        if (prefixLength < 31) {
            Cidr own = new Cidr(Cidr.fromInt(Cidr.toInt(address) & Cidr.mask(prefixLength)), prefixLength);
            if (address.equals(own.network()) || address.equals(own.broadcast())) {
                throw AgentException.invalid("address", "address " + text + " is the network or broadcast address of "
                        + own);
            }
        }
        if (nodeAddresses.get().contains(address)) {
            throw AgentException.invalid("address", "address " + text + " belongs to the node");
        }
    }

    /** Whether the agent may ever hand address out: in the pool, not network, broadcast or gateway. */
    public boolean usable(Inet4Address address) {
        return pool.contains(address) && !address.equals(pool.network()) && !address.equals(pool.broadcast())
                && !address.equals(gateway);
    }

    /** Writes the allocation file; false when another writer holds the address. */
    private boolean claim(Allocation allocation) {
        String name = allocation.address().getHostAddress();
        Path target = dir.resolve(name);
        String tmp = "." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TMP_SUFFIX;
        try {
            if (!DurableFiles.createExclusive(target, tmp, format(allocation))) {
                remember(readQuietly(target, allocation.address()));
                return false;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write IPAM allocation " + target, e);
        }
        remember(allocation);
        return true;
    }

    private Allocation readQuietly(Path file, Inet4Address address) {
        try {
            return parse(address, Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Allocation(address, 32, UNKNOWN_OWNER, null, Source.AGENT);
        }
    }

    private void remember(Allocation a) {
        byAddress.put(a.address(), a);
        if (!a.owner().equals(UNKNOWN_OWNER)) {
            byOwner.put(a.owner(), a);
        }
    }

    /** Releases what owner holds; returns it (empty when nothing). */
    public synchronized List<Allocation> release(AttachmentKey owner) {
        if (!byOwner.containsKey(owner)) {
            return List.of();
        }
        return releaseIf(owner::equals);
    }

    /** Releases every allocation whose owner matches; returns them. */
    public synchronized List<Allocation> releaseIf(Predicate<AttachmentKey> matches) {
        List<Allocation> released = new ArrayList<>();
        for (Allocation a : new ArrayList<>(byAddress.values())) {
            if (!a.owner().equals(UNKNOWN_OWNER) && matches.test(a.owner())) {
                remove(a);
                released.add(a);
            }
        }
        return released;
    }

    private void remove(Allocation a) {
        Path file = dir.resolve(a.address().getHostAddress());
        try {
            DurableFiles.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release IPAM allocation " + file, e);
        }
        byAddress.remove(a.address());
        if (a.equals(byOwner.get(a.owner()))) {
            byOwner.remove(a.owner());
        }
    }

    public synchronized Optional<Allocation> allocationOf(AttachmentKey owner) {
        return Optional.ofNullable(byOwner.get(owner));
    }

    public synchronized Optional<AttachmentKey> ownerOf(Inet4Address address) {
        return Optional.ofNullable(byAddress.get(address)).map(Allocation::owner);
    }

    /** A snapshot of the allocations, by address. */
    public synchronized Map<Inet4Address, Allocation> allocations() {
        return new LinkedHashMap<>(byAddress);
    }

    /** Addresses of the pool held, whoever handed them out. */
    public synchronized int allocated() {
        return (int) byAddress.keySet().stream().filter(this::usable).count();
    }

    /** Addresses of the pool held that source handed out. */
    public synchronized int allocated(Source source) {
        return (int) byAddress.values().stream().filter(a -> usable(a.address()) && a.source() == source).count();
    }

    /** How many addresses could ever be handed out. */
    public long capacity() {
        return pool.size() - 2 - (usable(gateway) || gatewayInside() ? 1 : 0);
    }

    private boolean gatewayInside() {
        return pool.contains(gateway) && !gateway.equals(pool.network()) && !gateway.equals(pool.broadcast());
    }

    public synchronized long free() {
        return capacity() - allocated();
    }
}
