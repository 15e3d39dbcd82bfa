package io.vesicle.agent.api;

import io.vesicle.cluster.Cidr;

import io.vesicle.agent.core.AttachmentKey;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** The checks every request's fields go through; failures are 400s naming the field. */
public final class Validation {
    /** CNI: alphanumeric first, then alphanumerics, '_', '.', '-'. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");
    private static final Pattern NETWORK = Pattern.compile("[A-Za-z0-9_.\\-]+");
    /** Keeps {@code <containerID>_<ifname>.json} within a file name's 255 bytes. */
    public static final int MAX_CONTAINER_ID = 200;
    public static final int MAX_IFNAME = 15;
    public static final int MAX_LABEL = 253;

    private Validation() {
    }

    public static AttachmentKey attachment(String containerID, String ifname) {
        return new AttachmentKey(containerID(containerID), ifname(ifname));
    }

    public static String containerID(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.invalid("containerID", "containerID is required");
        }
        if (value.length() > MAX_CONTAINER_ID) {
            throw ApiFailure.invalid("containerID", "containerID is " + value.length() + " characters long (at most "
                    + MAX_CONTAINER_ID + ")");
        }
        if (!CONTAINER_ID.matcher(value).matches()) {
            throw ApiFailure.invalid("containerID", "containerID '" + printable(value)
                    + "' must start with a letter or digit and hold only letters, digits, '_', '.' and '-'");
        }
        return value;
    }

    /**
     * A Linux interface name by the kernel's own rule (dev_valid_name), counted in bytes: 1 to 15
     * bytes, not "." or "..", no '/', ':' or byte the kernel counts as white space (which in its
     * table includes 0xa0, a byte of many UTF-8 characters); control characters are refused too,
     * since the name travels into logs and file names.
     */
    public static String ifname(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.invalid("ifname", "ifname is required");
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_IFNAME) {
            throw ApiFailure.invalid("ifname", "ifname '" + printable(value) + "' is " + bytes.length + " bytes long (at most "
                    + MAX_IFNAME + ")");
        }
        if (value.equals(".") || value.equals("..")) {
            throw ApiFailure.invalid("ifname", "ifname '" + value + "' is not a valid interface name");
        }
        if (value.indexOf('%') >= 0) {
            // The kernel takes "eth%d" for a template and numbers the interface itself.
            throw ApiFailure.invalid("ifname", "ifname '" + printable(value) + "' holds '%', which the kernel takes"
                    + " for a numbering template");
        }
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0 || c < 0x20 || c == 0x7f) {
                throw ApiFailure.invalid("ifname", "ifname '" + printable(value) + "' is not a valid interface name (no '/',"
                        + " ':', white space or control characters)");
            }
        }
        return value;
    }

    /** A CNI network name: letters, digits, '_', '.', '-' (the spec's rule); optional. */
    public static String network(String value) {
        if (value != null && (value.isEmpty() || value.length() > MAX_LABEL || !NETWORK.matcher(value).matches())) {
            throw ApiFailure.invalid("network", "network '" + printable(value) + "' must be 1 to " + MAX_LABEL
                    + " letters, digits, '_', '.' or '-'");
        }
        return value;
    }

    public static String netns(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.invalid("netns", "netns is required");
        }
        if (!value.startsWith("/") || value.indexOf('\0') >= 0) {
            throw ApiFailure.invalid("netns", "netns '" + printable(value) + "' must be an absolute path");
        }
        return value;
    }

    public static String label(String name, String value) {
        if (value != null && (value.length() > MAX_LABEL || value.chars().anyMatch(Character::isISOControl))) {
            throw ApiFailure.invalid(name, name + " must be at most " + MAX_LABEL + " printable characters");
        }
        return value;
    }

    /**
     * An address given by a delegated IPAM, parsed: IPv4 with its prefix length. Whether a pod may
     * have it is the IPAM's to say ({@code Ipam.check}).
     */
    public static Cidr.AddressWithPrefix address(String value) {
        try {
            return Cidr.parseAddressWithPrefix(value);
        } catch (IllegalArgumentException e) {
            throw ApiFailure.invalid("address", "address: " + e.getMessage());
        }
    }

    public static Inet4Address ipv4(String name, String value) {
        try {
            return Cidr.parseAddress(value);
        } catch (IllegalArgumentException e) {
            throw ApiFailure.invalid(name, name + ": " + e.getMessage());
        }
    }

    /** For messages: control characters escaped, long values cut. */
    public static String printable(String value) {
        StringBuilder s = new StringBuilder();
        value.codePoints().limit(80).forEach(c -> {
            if (Character.isISOControl(c)) {
                s.append(String.format("\\x%02x", c));
            } else {
                s.appendCodePoint(c);
            }
        });
        if (value.codePointCount(0, value.length()) > 80) {
            s.append("...");
        }
        return s.toString();
    }
}
