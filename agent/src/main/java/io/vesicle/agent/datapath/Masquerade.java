package io.vesicle.agent.datapath;

import io.vesicle.cluster.Cidr;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Nftables;
import io.vesicle.loader.NftablesException;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Masquerading of pod traffic to the outside, by the kernel's nftables (conntrack, port allocation
 * and ICMP errors come with it; world traffic is not the hot path): table {@code ip vesicle}, a
 * postrouting nat chain that masquerades what this node's pods send out of the uplink unless it
 * goes to a pod CIDR of the cluster or to a node. The table is replaced whole in one transaction
 * whenever it changes (the node addresses), so there is never a moment without it; with
 * masquerading off, the table is deleted.
 */
final class Masquerade implements NodeRealizer {
    private static final Logger LOG = LoggerFactory.getLogger(Masquerade.class);
    static final String TABLE = "vesicle";
    private static final Comparator<Inet4Address> BY_VALUE =
            Comparator.comparingLong(a -> Integer.toUnsignedLong(Cidr.toInt(a)));

    private final NetNs nodeNs;
    private final NodeNetwork network;
    private Set<Inet4Address> nodeIPs = Set.of();

    Masquerade(NetNs nodeNs, NodeNetwork network) {
        this.nodeNs = nodeNs;
        this.network = network;
    }

    @Override
    public String name() {
        return "masquerading";
    }

    /** Applies the table with nodeIPs (the other nodes' addresses) exempt. */
    synchronized void apply(Set<Inet4Address> remoteNodeIPs) {
        TreeSet<Inet4Address> sorted = new TreeSet<>(BY_VALUE);
        sorted.addAll(remoteNodeIPs);
        sorted.add(network.nodeIP());
        nodeIPs = Set.copyOf(sorted);
        apply();
    }

    @Override
    public synchronized void apply() {
        if (!network.masquerade()) {
            Nftables.apply(nodeNs, "table ip " + TABLE + "\ndelete table ip " + TABLE + "\n");
            return;
        }
        Nftables.apply(nodeNs, "table ip " + TABLE + "\ndelete table ip " + TABLE + "\n" + table());
        LOG.debug("masquerading {} out of {}, except to {}", network.podCIDR(), network.uplink().name(), exempt());
    }

    private List<String> exempt() {
        return Stream.concat(network.clusterCIDRs().stream().map(Cidr::toString),
                nodeIPs.stream().sorted(BY_VALUE).map(Inet4Address::getHostAddress)).toList();
    }

    /** The rule up to its counter, which nft lists with its values ("counter packets 3 bytes 252"). */
    private String match() {
        if (!network.uplink().name().matches("[A-Za-z0-9._@-]+")) {
            // The kernel allows quotes and backslashes in device names; nft's quoting does not escape them.
            throw new IllegalArgumentException("uplink: '" + network.uplink().name()
                    + "' cannot be named in an nftables rule; rename the device or set uplink");
        }
        return "ip saddr " + network.podCIDR() + " ip daddr != @no_masquerade oifname \""
                + network.uplink().name() + "\" counter";
    }

    private String table() {
        return "table ip " + TABLE + " {\n"
                + "\tset no_masquerade {\n"
                + "\t\ttype ipv4_addr\n"
                + "\t\tflags interval\n"
                + "\t\telements = { " + String.join(", ", exempt()) + " }\n"
                + "\t}\n\n"
                + "\tchain postrouting {\n"
                + "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                + "\t\t" + match() + " masquerade\n"
                + "\t}\n"
                + "}\n";
    }

    @Override
    public synchronized List<String> verify() {
        List<String> diffs = new ArrayList<>();
        String listed;
        try {
            listed = Nftables.apply(nodeNs, "list table ip " + TABLE);
        } catch (NftablesException e) {
            listed = null;
        }
        if (!network.masquerade()) {
            if (listed != null) {
                diffs.add("the nftables table ip " + TABLE + " exists, but masquerading is off");
            }
        } else if (listed == null) {
            diffs.add("the nftables table ip " + TABLE + " is missing");
        } else {
            List<String> lines = listed.lines().map(String::strip).toList();
            if (lines.stream().noneMatch(l -> l.startsWith(match()) && l.endsWith(" masquerade"))) {
                diffs.add("the nftables table ip " + TABLE + " lacks the rule '" + match() + " masquerade'");
            }
            String joined = String.join(" ", lines);
            int start = joined.indexOf("elements = {");
            String elements = start < 0 ? "" : joined.substring(start, joined.indexOf('}', start) + 1);
            for (String exempt : exempt()) {
                if (!elements.matches(".*[{ ,]" + Pattern.quote(exempt) + "[ ,}].*")) {
                    diffs.add("the nftables set no_masquerade lacks " + exempt);
                }
            }
        }
        return diffs;
    }
}
