package io.vesicle.agent.api;

import io.vesicle.agent.ipam.Cidr;

import io.vesicle.api.Messages.Attachment;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** The checks every request's fields go through; failures are 400s naming the field. */
public final class Validation {
    /** CNI: alphanumeric first, then alphanumerics, '_', '.', '-'. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");
    /** Keeps {@code <containerID>_<ifname>.json} within a file name's 255 bytes. */
    public static final int MAX_CONTAINER_ID = 200;
    public static final int MAX_IFNAME = 15;
    public static final int MAX_LABEL = 253;

    private Validation() {
    }

    public static Attachment attachment(String containerID, String ifname) {
        return new Attachment(containerID(containerID), ifname(ifname));
    }

    public static String containerID(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.badRequest("containerID is required");
        }
        if (value.length() > MAX_CONTAINER_ID) {
            throw ApiFailure.badRequest("containerID is " + value.length() + " characters long (at most "
                    + MAX_CONTAINER_ID + ")");
        }
        if (!CONTAINER_ID.matcher(value).matches()) {
            throw ApiFailure.badRequest("containerID '" + printable(value)
                    + "' must start with a letter or digit and hold only letters, digits, '_', '.' and '-'");
        }
        return value;
    }

    /** A Linux interface name: 1 to 15 bytes, no '/', ':' or white space, not "." or "..". */
    public static String ifname(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.badRequest("ifname is required");
        }
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_IFNAME) {
            throw ApiFailure.badRequest("ifname '" + printable(value) + "' is " + bytes + " bytes long (at most "
                    + MAX_IFNAME + ")");
        }
        if (value.equals(".") || value.equals("..") || value.chars().anyMatch(c -> c == '/' || c == ':'
                || Character.isWhitespace(c) || Character.isISOControl(c))) {
            throw ApiFailure.badRequest("ifname '" + printable(value)
                    + "' is not a valid interface name (no '/', ':', spaces or control characters; not . or ..)");
        }
        return value;
    }

    public static String netns(String value) {
        if (value == null || value.isEmpty()) {
            throw ApiFailure.badRequest("netns is required");
        }
        if (!value.startsWith("/") || value.indexOf('\0') >= 0) {
            throw ApiFailure.badRequest("netns '" + printable(value) + "' must be an absolute path");
        }
        return value;
    }

    public static String label(String name, String value) {
        if (value != null && (value.length() > MAX_LABEL || value.chars().anyMatch(Character::isISOControl))) {
            throw ApiFailure.badRequest(name + " must be at most " + MAX_LABEL + " printable characters");
        }
        return value;
    }

    /** An address given by a delegated IPAM: IPv4 with its prefix length, a unicast host address. */
    public static Cidr.AddressWithPrefix address(String value) {
        Cidr.AddressWithPrefix parsed;
        try {
            parsed = Cidr.parseAddressWithPrefix(value);
        } catch (IllegalArgumentException e) {
            throw ApiFailure.badRequest("address: " + e.getMessage());
        }
        byte[] b = parsed.address().getAddress();
        int first = b[0] & 0xff;
        if (parsed.address().isAnyLocalAddress() || parsed.address().isLoopbackAddress() || first >= 224
                || (first == 0)) {
            throw ApiFailure.badRequest("address " + value + " is not a unicast host address");
        }
        if (parsed.prefixLength() < 32 && parsed.prefixLength() > 0) {
            Cidr network = new Cidr(Cidr.fromInt(Cidr.toInt(parsed.address()) & Cidr.mask(parsed.prefixLength())),
                    parsed.prefixLength());
            if (parsed.prefixLength() < 31 && (parsed.address().equals(network.network())
                    || parsed.address().equals(network.broadcast()))) {
                throw ApiFailure.badRequest("address " + value + " is the network or broadcast address of " + network);
            }
        }
        return parsed;
    }

    public static Inet4Address ipv4(String name, String value) {
        try {
            return Cidr.parseAddress(value);
        } catch (IllegalArgumentException e) {
            throw ApiFailure.badRequest(name + ": " + e.getMessage());
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
