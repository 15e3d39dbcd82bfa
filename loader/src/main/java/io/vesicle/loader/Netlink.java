package io.vesicle.loader;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Links, addresses, routes and neighbours over rtnetlink (libnl-route-3), in any network
 * namespace. Every call takes the namespace to act in ({@code null}: the caller's own); the native
 * side enters it on the calling thread for that one operation, creates its netlink socket there
 * (a netlink socket stays bound to the namespace it was created in) and returns to the thread's
 * own namespace before any Java code runs again.
 *
 * <p>Failures are {@link NativeException}s that keep the errno and name the device, address or
 * route and the namespace; a missing device is a {@link NoSuchDeviceException}. When the kernel
 * explains a refusal (extended ack), its text is part of the message.
 *
 * <p>IPv4 is the target; addresses, routes and neighbours given as {@link Inet6Address} are passed
 * through as well, but {@link #routes} lists the IPv4 main table only.
 */
public final class Netlink {
    /** IFNAMSIZ - 1: the longest interface name the kernel accepts, in bytes. */
    public static final int MAX_NAME_LENGTH = 15;
    /** The main routing table's kernel id (RT_TABLE_MAIN), reported as table 0. */
    static final int RT_TABLE_MAIN = 254;
    /** net/if.h's IFF_NOARP. */
    private static final int IFF_NOARP = 0x80;
    /** What the kernel answers for deleting a route it does not have. */
    private static final int ESRCH = 3;

    static {
        NativeLibrary.ensureAvailability();
    }

    private Netlink() {
    }

    /** A network device as the kernel reports it; {@code kind} is "" for devices without one (lo, physical). */
    public record Link(int index, String name, byte[] mac, int mtu, boolean up, String kind) {
        public Link {
            Objects.requireNonNull(name, "name");
            mac = mac == null ? new byte[0] : mac.clone();
            kind = kind == null ? "" : kind;
        }

        @Override
        public byte[] mac() {
            return mac.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Link l && index == l.index && name.equals(l.name) && Arrays.equals(mac, l.mac)
                    && mtu == l.mtu && up == l.up && kind.equals(l.kind);
        }

        @Override
        public int hashCode() {
            return Objects.hash(index, name, Arrays.hashCode(mac), mtu, up, kind);
        }

        @Override
        public String toString() {
            return "Link[" + index + " " + name + (kind.isEmpty() ? "" : " " + kind) + " " + formatMac(mac)
                    + " mtu " + mtu + (up ? " up" : " down") + "]";
        }
    }

    /** A VXLAN device's settings as the kernel reports them; {@code collectMetadata} is external mode. */
    public record Vxlan(Link link, int dstPort, boolean collectMetadata, boolean learning) {
        public Vxlan {
            Objects.requireNonNull(link, "link");
        }
    }

    /** An interface address: {@code address/prefixLength} on {@code ifindex}. */
    public record Address(InetAddress address, int prefixLength, int ifindex) {
        public Address {
            Objects.requireNonNull(address, "address");
            checkPrefix(address, prefixLength);
        }

        @Override
        public String toString() {
            return address.getHostAddress() + "/" + prefixLength + " on link #" + ifindex;
        }
    }

    /** Route scopes (RT_SCOPE_*): how far the destination is. */
    public enum Scope {
        UNIVERSE(0), LINK(253), HOST(254);

        private final int kernel;

        Scope(int kernel) {
            this.kernel = kernel;
        }

        int kernel() {
            return kernel;
        }

        /** Site-scope and unknown values read as UNIVERSE. */
        static Scope of(int kernel) {
            for (Scope scope : values()) {
                if (scope.kernel == kernel) {
                    return scope;
                }
            }
            return UNIVERSE;
        }
    }

    /**
     * A unicast route with one nexthop. {@code gateway} is null for a directly connected
     * destination; {@code onLink} (RTNH_F_ONLINK) makes the kernel take the gateway as reachable on
     * {@code ifindex} without a covering route, which a /32 pod address needs. {@code table} 0
     * is the main table.
     */
    public record Route(InetAddress destination, int prefixLength, InetAddress gateway, int ifindex, Scope scope,
                        boolean onLink, int table, int protocol, InetAddress source) {
        /** RTPROT_KERNEL: routes the kernel adds itself (a connected subnet). */
        public static final int PROTOCOL_KERNEL = 2;
        /** RTPROT_BOOT: what {@code ip route add} marks a route with, the default here. */
        public static final int PROTOCOL_BOOT = 3;

        /** Protocol boot, no preferred source. */
        public Route(InetAddress destination, int prefixLength, InetAddress gateway, int ifindex, Scope scope,
                     boolean onLink, int table) {
            this(destination, prefixLength, gateway, ifindex, scope, onLink, table, PROTOCOL_BOOT, null);
        }

        public Route {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(scope, "scope");
            checkPrefix(destination, prefixLength);
            if (gateway != null && gateway.getClass() != destination.getClass()) {
                throw new IllegalArgumentException("gateway " + gateway.getHostAddress() + " and destination "
                        + destination.getHostAddress() + " are of different families");
            }
            if (ifindex < 0 || (ifindex == 0 && (gateway == null || onLink))) {
                throw new IllegalArgumentException("route to " + destination.getHostAddress() + "/" + prefixLength
                        + " needs an interface index" + (onLink ? " (onlink)" : ""));
            }
            if (table < 0) {
                throw new IllegalArgumentException("routing table " + table + " is negative");
            }
            if (table == RT_TABLE_MAIN) {
                table = 0;
            }
            if (protocol < 0 || protocol > 255) {
                throw new IllegalArgumentException("route protocol " + protocol + " is not within 0..255");
            }
            if (source != null && source.getClass() != destination.getClass()) {
                throw new IllegalArgumentException("source " + source.getHostAddress() + " and destination "
                        + destination.getHostAddress() + " are of different families");
            }
        }

        /** This route marked with protocol (RTPROT_*, or a number of the caller's own to find its routes by). */
        public Route withProtocol(int protocol) {
            return new Route(destination, prefixLength, gateway, ifindex, scope, onLink, table, protocol, source);
        }

        /** This route with a preferred source address (RTA_PREFSRC: the address the node's own traffic takes). */
        public Route withSource(InetAddress source) {
            return new Route(destination, prefixLength, gateway, ifindex, scope, onLink, table, protocol, source);
        }

        /** {@code dst/prefix dev ifindex scope link}. */
        public static Route link(InetAddress dst, int prefix, int ifindex) {
            return new Route(dst, prefix, null, ifindex, Scope.LINK, false, 0);
        }

        /** {@code dst/prefix via gw dev ifindex [onlink]}; ifindex 0 lets the kernel pick the device. */
        public static Route via(InetAddress dst, int prefix, InetAddress gw, int ifindex, boolean onLink) {
            return new Route(dst, prefix, Objects.requireNonNull(gw, "gateway"), ifindex, Scope.UNIVERSE, onLink, 0);
        }

        @Override
        public String toString() {
            return destination.getHostAddress() + "/" + prefixLength
                    + (gateway == null ? "" : " via " + gateway.getHostAddress())
                    + (ifindex == 0 ? "" : " dev #" + ifindex)
                    + (scope == Scope.UNIVERSE ? "" : " scope " + scope.name().toLowerCase())
                    + (onLink ? " onlink" : "") + (table == 0 ? "" : " table " + table)
                    + (protocol == PROTOCOL_BOOT ? "" : " proto " + protocol)
                    + (source == null ? "" : " src " + source.getHostAddress());
        }
    }

    /** An Ethernet neighbour (ARP/NDP) entry; {@code permanent} is NUD_PERMANENT. */
    public record Neighbour(InetAddress address, byte[] mac, int ifindex, boolean permanent) {
        public Neighbour {
            Objects.requireNonNull(address, "address");
            mac = checkMac(mac).clone();
        }

        @Override
        public byte[] mac() {
            return mac.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Neighbour n && address.equals(n.address) && Arrays.equals(mac, n.mac)
                    && ifindex == n.ifindex && permanent == n.permanent;
        }

        @Override
        public int hashCode() {
            return Objects.hash(address, Arrays.hashCode(mac), ifindex, permanent);
        }

        @Override
        public String toString() {
            return address.getHostAddress() + " lladdr " + formatMac(mac) + " dev #" + ifindex
                    + (permanent ? " permanent" : "");
        }
    }

    // ---- links ----

    /**
     * Creates a veth pair: {@code name} in {@code ns}, {@code peerName} directly inside
     * {@code peerNs} ({@code null}: the same namespace as {@code ns}) with its final name, so
     * nothing is ever visible half-moved. {@code mtu} (0: the default) applies to both ends,
     * {@code peerMac} (nullable) to the peer. Returns the local end.
     *
     * @throws NativeException with EEXIST when either name is taken
     */
    public static Link createVeth(NetNs ns, String name, String peerName, NetNs peerNs, int mtu, byte[] peerMac) {
        checkName(name);
        checkName(peerName);
        if (mtu < 0) {
            throw new IllegalArgumentException("MTU " + mtu + " is negative");
        }
        if (peerMac != null) {
            checkMac(peerMac);
        }
        Reply reply = new Reply();
        check(createVeth0(NetNs.fdOf(ns), name, peerName, peerNs == null ? -1 : peerNs.fd(), mtu, peerMac, reply),
                reply, () -> "create veth " + name + " in " + NetNs.describe(ns) + " with peer " + peerName + " in "
                        + (peerNs == null ? "the same namespace" : NetNs.describe(peerNs)));
        return reply.links.get(0);
    }

    /**
     * Creates a VXLAN device in external mode (IFLA_VXLAN_COLLECT_METADATA: the remote and VNI
     * come from each packet's tunnel key, set by BPF) on UDP {@code dstPort}, address learning
     * off, with {@code mtu} (0: the default). It is created down. Returns it.
     *
     * @throws NativeException with EEXIST when the name is taken
     */
    public static Link createVxlan(NetNs ns, String name, int dstPort, int mtu) {
        checkName(name);
        if (dstPort <= 0 || dstPort > 65535) {
            throw new IllegalArgumentException("VXLAN port " + dstPort + " is not within 1..65535");
        }
        if (mtu < 0) {
            throw new IllegalArgumentException("MTU " + mtu + " is negative");
        }
        Reply reply = new Reply();
        check(createVxlan0(NetNs.fdOf(ns), name, dstPort, mtu, reply), reply,
                () -> "create VXLAN device " + name + " (external, port " + dstPort + ") in " + NetNs.describe(ns));
        return reply.links.get(0);
    }

    /**
     * The VXLAN settings of the link called {@code name}; empty when there is no such link.
     *
     * @throws NativeException with EMEDIUMTYPE when the link is not a VXLAN device
     */
    public static Optional<Vxlan> vxlan(NetNs ns, String name) {
        checkName(name);
        Reply reply = new Reply();
        int[] settings = new int[3];
        int ret = vxlan0(NetNs.fdOf(ns), name, settings, reply);
        if (ret == -Errors.ENODEV) {
            return Optional.empty();
        }
        check(ret, reply, () -> "read the VXLAN settings of " + name + " in " + NetNs.describe(ns));
        return Optional.of(new Vxlan(reply.links.get(0), settings[0], settings[1] != 0, settings[2] != 0));
    }

    /** The link called {@code name}, if there is one. */
    public static Optional<Link> link(NetNs ns, String name) {
        checkName(name);
        return lookup(ns, 0, name, () -> "look up link " + name + " in " + NetNs.describe(ns));
    }

    /** The link with {@code ifindex}, if there is one. */
    public static Optional<Link> link(NetNs ns, int ifindex) {
        checkIndex(ifindex);
        return lookup(ns, ifindex, null, () -> "look up link #" + ifindex + " in " + NetNs.describe(ns));
    }

    private static Optional<Link> lookup(NetNs ns, int ifindex, String name, Supplier<String> what) {
        Reply reply = new Reply();
        int ret = link0(NetNs.fdOf(ns), ifindex, name, reply);
        if (ret == -Errors.ENODEV) {
            return Optional.empty();
        }
        check(ret, reply, what);
        return Optional.of(reply.links.get(0));
    }

    /** Every link in the namespace. */
    public static List<Link> links(NetNs ns) {
        Reply reply = new Reply();
        check(links0(NetNs.fdOf(ns), reply), reply, () -> "list links in " + NetNs.describe(ns));
        return List.copyOf(reply.links);
    }

    /** Sets IFF_UP. */
    public static void setUp(NetNs ns, int ifindex) {
        checkIndex(ifindex);
        Reply reply = new Reply();
        check(setUp0(NetNs.fdOf(ns), ifindex, true, reply), reply,
                () -> "set link #" + ifindex + " up in " + NetNs.describe(ns));
    }

    /**
     * Sets or clears IFF_NOARP: on a device without ARP the kernel takes the device's own MAC as
     * every neighbour's, so routes through it need no gateway that answers.
     */
    public static void setNoArp(NetNs ns, int ifindex, boolean noArp) {
        checkIndex(ifindex);
        Reply reply = new Reply();
        check(setFlag0(NetNs.fdOf(ns), ifindex, IFF_NOARP, noArp, reply), reply,
                () -> (noArp ? "set" : "clear") + " NOARP on link #" + ifindex + " in " + NetNs.describe(ns));
    }

    public static void setMtu(NetNs ns, int ifindex, int mtu) {
        checkIndex(ifindex);
        if (mtu <= 0) {
            throw new IllegalArgumentException("MTU " + mtu + " must be positive");
        }
        Reply reply = new Reply();
        check(setMtu0(NetNs.fdOf(ns), ifindex, mtu, reply), reply,
                () -> "set MTU of link #" + ifindex + " to " + mtu + " in " + NetNs.describe(ns));
    }

    public static void setMac(NetNs ns, int ifindex, byte[] mac) {
        checkIndex(ifindex);
        checkMac(mac);
        Reply reply = new Reply();
        check(setMac0(NetNs.fdOf(ns), ifindex, mac, reply), reply,
                () -> "set MAC of link #" + ifindex + " to " + formatMac(mac) + " in " + NetNs.describe(ns));
    }

    /**
     * Moves the link into {@code target} ({@code null}: the caller's namespace) by descriptor
     * (IFLA_NET_NS_FD), renamed to {@code newName} in the same step when not null. The ifindex in
     * the target may differ; look the link up there by name.
     */
    public static void moveToNamespace(NetNs ns, int ifindex, NetNs target, String newName) {
        checkIndex(ifindex);
        if (newName != null) {
            checkName(newName);
        }
        Reply reply = new Reply();
        check(moveToNamespace0(NetNs.fdOf(ns), ifindex, NetNs.fdOf(target), newName, reply), reply,
                () -> "move link #" + ifindex + " from " + NetNs.describe(ns) + " to " + NetNs.describe(target)
                        + (newName == null ? "" : " as " + newName));
    }

    /** Deletes the link (for a veth, both ends). @throws NoSuchDeviceException when it does not exist */
    public static void deleteLink(NetNs ns, int ifindex) {
        checkIndex(ifindex);
        Reply reply = new Reply();
        check(deleteLink0(NetNs.fdOf(ns), ifindex, null, reply), reply,
                () -> "delete link #" + ifindex + " in " + NetNs.describe(ns));
    }

    /** Deletes the link called {@code name}; false when there was none. */
    public static boolean deleteLink(NetNs ns, String name) {
        checkName(name);
        Reply reply = new Reply();
        int ret = deleteLink0(NetNs.fdOf(ns), 0, name, reply);
        if (ret == -Errors.ENODEV) {
            return false;
        }
        check(ret, reply, () -> "delete link " + name + " in " + NetNs.describe(ns));
        return true;
    }

    // ---- addresses ----

    /** Adds {@code address/prefixLength} to the link. @throws NativeException with EEXIST when present */
    public static void addAddress(NetNs ns, int ifindex, InetAddress address, int prefixLength) {
        checkIndex(ifindex);
        checkPrefix(address, prefixLength);
        Reply reply = new Reply();
        check(addAddress0(NetNs.fdOf(ns), ifindex, address.getAddress(), prefixLength, reply), reply,
                () -> "add address " + address.getHostAddress() + "/" + prefixLength + " to link #" + ifindex
                        + " in " + NetNs.describe(ns));
    }

    /** IPv4 and IPv6 addresses of the link ({@code ifindex} 0: of every link). */
    public static List<Address> addresses(NetNs ns, int ifindex) {
        checkIndexOrAll(ifindex);
        Reply reply = new Reply();
        check(addresses0(NetNs.fdOf(ns), ifindex, reply), reply,
                () -> "list addresses" + onLink(ifindex) + " in " + NetNs.describe(ns));
        return List.copyOf(reply.addresses);
    }

    // ---- routes ----

    /**
     * Adds the route, marked with its protocol. With {@code replace} an existing route to the same
     * destination is replaced, else it is an EEXIST NativeException.
     */
    public static void addRoute(NetNs ns, Route route, boolean replace) {
        Objects.requireNonNull(route, "route");
        Reply reply = new Reply();
        check(addRoute0(NetNs.fdOf(ns), route.destination().getAddress(), route.prefixLength(), bytesOf(route.gateway()),
                        route.ifindex(), route.scope().kernel(), route.onLink(), route.table(), route.protocol(),
                        bytesOf(route.source()), replace, reply),
                reply, () -> (replace ? "replace route " : "add route ") + route + " in " + NetNs.describe(ns));
    }

    /** Deletes the route (matched on destination, table, gateway and device); false when absent. */
    public static boolean deleteRoute(NetNs ns, Route route) {
        Objects.requireNonNull(route, "route");
        Reply reply = new Reply();
        int ret = deleteRoute0(NetNs.fdOf(ns), route.destination().getAddress(), route.prefixLength(),
                bytesOf(route.gateway()), route.ifindex(), route.table(), reply);
        if (ret == -ESRCH || ret == -Errors.ENOENT) {
            return false;
        }
        check(ret, reply, () -> "delete route " + route + " in " + NetNs.describe(ns));
        return true;
    }

    /** Unicast IPv4 routes of the main table through the link ({@code ifindex} 0: all of them). */
    public static List<Route> routes(NetNs ns, int ifindex) {
        checkIndexOrAll(ifindex);
        Reply reply = new Reply();
        check(routes0(NetNs.fdOf(ns), ifindex, reply), reply,
                () -> "list routes" + onLink(ifindex) + " in " + NetNs.describe(ns));
        return List.copyOf(reply.routes);
    }

    // ---- neighbours ----

    /** Adds or replaces the entry: NUD_PERMANENT when permanent, else NUD_REACHABLE. */
    public static void addNeighbour(NetNs ns, Neighbour neighbour) {
        Objects.requireNonNull(neighbour, "neighbour");
        checkIndex(neighbour.ifindex());
        Reply reply = new Reply();
        check(addNeighbour0(NetNs.fdOf(ns), neighbour.address().getAddress(), neighbour.mac(), neighbour.ifindex(),
                neighbour.permanent(), reply), reply, () -> "add neighbour " + neighbour + " in " + NetNs.describe(ns));
    }

    /** Deletes the entry for {@code address} on the link; false when there was none. */
    public static boolean deleteNeighbour(NetNs ns, int ifindex, InetAddress address) {
        checkIndex(ifindex);
        Objects.requireNonNull(address, "address");
        Reply reply = new Reply();
        int ret = deleteNeighbour0(NetNs.fdOf(ns), ifindex, address.getAddress(), reply);
        if (ret == -Errors.ENOENT) {
            return false;
        }
        check(ret, reply, () -> "delete neighbour " + address.getHostAddress() + " on link #" + ifindex + " in "
                + NetNs.describe(ns));
        return true;
    }

    /** Resolved IPv4 and IPv6 neighbours of the link ({@code ifindex} 0: of every link). */
    public static List<Neighbour> neighbours(NetNs ns, int ifindex) {
        checkIndexOrAll(ifindex);
        Reply reply = new Reply();
        check(neighbours0(NetNs.fdOf(ns), ifindex, reply), reply,
                () -> "list neighbours" + onLink(ifindex) + " in " + NetNs.describe(ns));
        return List.copyOf(reply.neighbours);
    }

    // ---- helpers ----

    /** Messages are built only on failure. */
    private static void check(int ret, Reply reply, Supplier<String> what) {
        if (ret < 0) {
            String description = what.get();
            if (reply.kernelMessage != null) {
                description += " (kernel: " + reply.kernelMessage + ")";
            }
            throw Errors.exception(-ret, description);
        }
    }

    /** Interface names as the kernel's dev_valid_name takes them. */
    static void checkName(String name) {
        Objects.requireNonNull(name, "interface name");
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("interface name '" + name + "' must be 1 to " + MAX_NAME_LENGTH
                    + " bytes long, not " + bytes);
        }
        if (name.equals(".") || name.equals("..") || name.chars().anyMatch(c -> c == '/' || c == ':' || c == 0
                || Character.isWhitespace(c))) {
            throw new IllegalArgumentException("interface name '" + name + "' is not valid");
        }
    }

    private static void checkIndex(int ifindex) {
        if (ifindex <= 0) {
            throw new IllegalArgumentException("interface index " + ifindex + " must be positive");
        }
    }

    private static void checkIndexOrAll(int ifindex) {
        if (ifindex < 0) {
            throw new IllegalArgumentException("interface index " + ifindex + " must be positive, or 0 for all");
        }
    }

    private static void checkPrefix(InetAddress address, int prefixLength) {
        int max = address instanceof Inet4Address ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " of " + address.getHostAddress()
                    + " is not within 0.." + max);
        }
    }

    private static byte[] checkMac(byte[] mac) {
        Objects.requireNonNull(mac, "MAC address");
        if (mac.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
        }
        return mac;
    }

    private static String onLink(int ifindex) {
        return ifindex == 0 ? "" : " of link #" + ifindex;
    }

    private static byte[] bytesOf(InetAddress address) {
        return address == null ? null : address.getAddress();
    }

    static String formatMac(byte[] mac) {
        StringBuilder s = new StringBuilder(17);
        for (byte b : mac) {
            if (s.length() > 0) {
                s.append(':');
            }
            s.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return s.toString();
    }

    private static InetAddress inet(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the kernel reported a " + bytes.length + "-byte IP address", e);
        }
    }

    /**
     * What one native call reports: the objects it found, through methods the C side calls (IDs
     * cached at load) after it is back in the caller's namespace, and the kernel's extended ack
     * text when it refused a request.
     */
    static final class Reply {
        final List<Link> links = new ArrayList<>(1);
        final List<Address> addresses = new ArrayList<>();
        final List<Route> routes = new ArrayList<>();
        final List<Neighbour> neighbours = new ArrayList<>();
        String kernelMessage;

        void link(int index, String name, byte[] mac, int mtu, boolean up, String kind) {
            links.add(new Link(index, name, mac, mtu, up, kind));
        }

        void address(byte[] address, int prefixLength, int ifindex) {
            addresses.add(new Address(inet(address), prefixLength, ifindex));
        }

        void route(byte[] destination, int prefixLength, byte[] gateway, int ifindex, int scope, boolean onLink,
                   int table, int protocol, byte[] source) {
            routes.add(new Route(inet(destination), prefixLength, gateway == null ? null : inet(gateway), ifindex,
                    Scope.of(scope), onLink, table, protocol, source == null ? null : inet(source)));
        }

        void neighbour(byte[] address, byte[] mac, int ifindex, boolean permanent) {
            neighbours.add(new Neighbour(inet(address), mac, ifindex, permanent));
        }

        void kernelMessage(String message) {
            kernelMessage = message;
        }
    }

    private static native int createVeth0(int nsFd, String name, String peerName, int peerNsFd, int mtu,
                                          byte[] peerMac, Reply reply);

    private static native int createVxlan0(int nsFd, String name, int dstPort, int mtu, Reply reply);

    private static native int vxlan0(int nsFd, String name, int[] settings, Reply reply);

    private static native int link0(int nsFd, int ifindex, String name, Reply reply);

    private static native int links0(int nsFd, Reply reply);

    private static native int setUp0(int nsFd, int ifindex, boolean up, Reply reply);

    private static native int setFlag0(int nsFd, int ifindex, int flag, boolean on, Reply reply);

    private static native int setMtu0(int nsFd, int ifindex, int mtu, Reply reply);

    private static native int setMac0(int nsFd, int ifindex, byte[] mac, Reply reply);

    private static native int moveToNamespace0(int nsFd, int ifindex, int targetFd, String newName, Reply reply);

    private static native int deleteLink0(int nsFd, int ifindex, String name, Reply reply);

    private static native int addAddress0(int nsFd, int ifindex, byte[] address, int prefixLength, Reply reply);

    private static native int addresses0(int nsFd, int ifindex, Reply reply);

    private static native int addRoute0(int nsFd, byte[] destination, int prefixLength, byte[] gateway, int ifindex,
                                        int scope, boolean onLink, int table, int protocol, byte[] source,
                                        boolean replace, Reply reply);

    private static native int deleteRoute0(int nsFd, byte[] destination, int prefixLength, byte[] gateway, int ifindex,
                                           int table, Reply reply);

    private static native int routes0(int nsFd, int ifindex, Reply reply);

    private static native int addNeighbour0(int nsFd, byte[] address, byte[] mac, int ifindex, boolean permanent,
                                            Reply reply);

    private static native int deleteNeighbour0(int nsFd, int ifindex, byte[] address, Reply reply);

    private static native int neighbours0(int nsFd, int ifindex, Reply reply);
}
