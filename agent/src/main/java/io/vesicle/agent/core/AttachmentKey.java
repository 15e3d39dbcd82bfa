package io.vesicle.agent.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Who an endpoint belongs to: the container runtime's key (CNI_CONTAINERID, CNI_IFNAME). Both are
 * checked before one is made (the API's validation).
 */
public record AttachmentKey(String containerID, String ifname) {
    public AttachmentKey {
        Objects.requireNonNull(containerID, "containerID");
        Objects.requireNonNull(ifname, "ifname");
    }

    /** The host-side veth's name: "lxc" + 11 hex digits of sha256(containerID/ifname); stable, 14 bytes. */
    public String hostIfName() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((containerID + "/" + ifname).getBytes(StandardCharsets.UTF_8));
            return "lxc" + HexFormat.of().formatHex(digest).substring(0, 11);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    @Override
    public String toString() {
        return containerID + "/" + ifname;
    }
}
