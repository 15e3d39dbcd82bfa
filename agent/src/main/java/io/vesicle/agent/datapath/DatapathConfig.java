package io.vesicle.agent.datapath;

import java.net.Inet4Address;
import java.nio.file.Path;

/**
 * Node-wide datapath settings, fixed at load time.
 *
 * @param pinRoot  where maps are pinned so they outlive the process (a bpffs directory, e.g.
 *                 {@code /sys/fs/bpf/vesicle}); {@code null} keeps them private to this process
 * @param gateway  the pods' gateway address, the only ARP target answered; {@code null} answers
 *                 for every address but the asker's own
 * @param node     how this node reaches the rest of the cluster; {@code null}: a single node
 *                 (no node devices or programs, remote destinations go to the node's stack)
 */
public record DatapathConfig(Path pinRoot, Inet4Address gateway, NodeNetwork node) {
    public static final Path DEFAULT_PIN_ROOT = Path.of("/sys/fs/bpf/vesicle");

    /** A single node. */
    public DatapathConfig(Path pinRoot, Inet4Address gateway) {
        this(pinRoot, gateway, null);
    }
}
