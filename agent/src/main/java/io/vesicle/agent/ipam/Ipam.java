package io.vesicle.agent.ipam;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vesicle.api.Messages.Attachment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Addresses of the node's pod CIDR, handed out one per attachment (containerID, ifname), in the
 * style of the reference host-local plugin: one file per allocated address, named by the address
 * and holding its owner ({@code containerID\nifname}). A file is created by hard-linking a fully
 * written temporary file to its final name, which fails when the name exists: a crash never leaves
 * a half-written allocation, and two writers can never both get an address. The network,
 * broadcast and gateway addresses are never handed out.
 *
 * <p>Thread-safe; one instance per directory and process (the agent holds a lock on its state
 * directory). The same owner asking again gets the address it holds.
 */
public final class Ipam {
    private static final Logger LOG = LoggerFactory.getLogger(Ipam.class);
    private static final String TMP_SUFFIX = ".tmp";

    private final Path dir;
    private final Cidr cidr;
    private final Inet4Address gateway;
    private final Map<Inet4Address, Attachment> owners = new HashMap<>();
    private final Map<Attachment, Inet4Address> byOwner = new HashMap<>();
    /** Offset after the last one handed out: addresses are reused as late as possible. */
    private long cursor = 1;

    /** No address left in the CIDR. */
    public static final class ExhaustedException extends RuntimeException {
        ExhaustedException(String message) {
            super(message);
        }
    }

    /** Opens (creating it if needed) the allocation directory and reads what it holds. */
    public Ipam(Path dir, Cidr cidr, Inet4Address gateway) {
        this.dir = dir;
        this.cidr = cidr;
        this.gateway = gateway;
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    load(file);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IPAM state in " + dir, e);
        }
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
        Attachment owner = readOwner(file);
        if (owner == null) {
            LOG.warn("ipam: " + file + " does not name an owner (containerID and ifname lines); address kept out of use");
            owner = new Attachment("", "");
        }
        owners.put(address, owner);
        byOwner.put(owner, address);
    }

    private static Attachment readOwner(Path file) throws IOException {
        String[] lines = Files.readString(file, StandardCharsets.UTF_8).split("\r?\n");
        if (lines.length < 2 || lines[0].isEmpty() || lines[1].isEmpty()) {
            return null;
        }
        return new Attachment(lines[0], lines[1]);
    }

    public Cidr cidr() {
        return cidr;
    }

    public Inet4Address gateway() {
        return gateway;
    }

    /**
     * The address owner holds, else a new one that taken does not reject (addresses the agent
     * knows in use otherwise, e.g. given by a delegated IPAM).
     *
     * @throws ExhaustedException when every address is held
     */
    public synchronized Inet4Address allocate(Attachment owner, Predicate<Inet4Address> taken) {
        Inet4Address held = byOwner.get(owner);
        if (held != null) {
            return held;
        }
        long size = cidr.size();
        for (long i = 0; i < size; i++) {
            long offset = (cursor + i) % size;
            Inet4Address candidate = cidr.address(offset);
            if (!usable(candidate) || owners.containsKey(candidate) || taken.test(candidate)) {
                continue;
            }
            if (claim(candidate, owner)) {
                cursor = offset + 1;
                return candidate;
            }
        }
        throw new ExhaustedException("no free address in " + cidr + " (" + allocated() + " allocated)");
    }

    /** Whether address may ever be handed out: in the CIDR, not network, broadcast or gateway. */
    public boolean usable(Inet4Address address) {
        return cidr.contains(address) && !address.equals(cidr.network()) && !address.equals(cidr.broadcast())
                && !address.equals(gateway);
    }

    /** Writes the allocation file; false when another writer holds the address. */
    private boolean claim(Inet4Address address, Attachment owner) {
        String name = address.getHostAddress();
        Path target = dir.resolve(name);
        Path tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TMP_SUFFIX);
        try {
            Files.writeString(tmp, owner.containerID() + "\n" + owner.ifname() + "\n", StandardCharsets.UTF_8);
            try {
                Files.createLink(target, tmp);
            } catch (FileAlreadyExistsException e) {
                Attachment other = readOwnerQuietly(target);
                owners.put(address, other);
                byOwner.put(other, address);
                return false;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write IPAM allocation " + target, e);
        }
        owners.put(address, owner);
        byOwner.put(owner, address);
        return true;
    }

    private static Attachment readOwnerQuietly(Path file) {
        try {
            Attachment owner = readOwner(file);
            return owner == null ? new Attachment("", "") : owner;
        } catch (IOException e) {
            return new Attachment("", "");
        }
    }

    /** Releases what owner holds; returns the released addresses (empty when none). */
    public synchronized List<Inet4Address> release(Attachment owner) {
        if (!byOwner.containsKey(owner)) {
            return List.of();
        }
        return List.copyOf(releaseIf(owner::equals).keySet());
    }

    /** Releases every allocation whose owner matches; returns them by address. */
    public synchronized Map<Inet4Address, Attachment> releaseIf(Predicate<Attachment> matches) {
        Map<Inet4Address, Attachment> released = new LinkedHashMap<>();
        for (Map.Entry<Inet4Address, Attachment> e : new ArrayList<>(owners.entrySet())) {
            if (!e.getValue().containerID().isEmpty() && matches.test(e.getValue())) {
                remove(e.getKey());
                released.put(e.getKey(), e.getValue());
            }
        }
        return released;
    }

    private void remove(Inet4Address address) {
        Path file = dir.resolve(address.getHostAddress());
        try {
            Files.deleteIfExists(file);
        } catch (NoSuchFileException e) {
            // gone already
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release IPAM allocation " + file, e);
        }
        Attachment owner = owners.remove(address);
        if (owner != null && address.equals(byOwner.get(owner))) {
            byOwner.remove(owner);
        }
    }

    public synchronized Optional<Inet4Address> addressOf(Attachment owner) {
        return Optional.ofNullable(byOwner.get(owner));
    }

    public synchronized Optional<Attachment> ownerOf(Inet4Address address) {
        return Optional.ofNullable(owners.get(address));
    }

    /** A snapshot of the allocations, by address. */
    public synchronized Map<Inet4Address, Attachment> allocations() {
        return new LinkedHashMap<>(owners);
    }

    /** Allocations inside the CIDR. */
    public synchronized int allocated() {
        return (int) owners.keySet().stream().filter(this::usable).count();
    }

    /** How many addresses could ever be handed out. */
    public long capacity() {
        return cidr.size() - 2 - (usableGateway() ? 1 : 0);
    }

    private boolean usableGateway() {
        return cidr.contains(gateway) && !gateway.equals(cidr.network()) && !gateway.equals(cidr.broadcast());
    }

    public synchronized long free() {
        return capacity() - allocated();
    }
}
