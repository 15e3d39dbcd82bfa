package io.vesicle.agent.datapath;

import io.vesicle.loader.Bpffs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The directory on bpffs where the datapath's maps are pinned so they outlive the agent. Whoever
 * can write there can remove or replace the maps every pod's traffic goes through, so it must be
 * root's and writable by root alone; a bpffs the agent mounts itself is mounted 0700.
 */
public final class PinRoot {
    private static final Logger LOG = LoggerFactory.getLogger(PinRoot.class);

    private PinRoot() {
    }

    /**
     * Makes sure root is a safe directory on a bpffs: when neither it nor its nearest existing
     * parent is on one, a bpffs is mounted (mode 0700) on /sys/fs/bpf (for a root below it) or on
     * root itself; root is created 0700 when missing.
     *
     * @throws IllegalStateException naming root when it is not root's, or others can write it
     */
    public static void prepare(Path root) {
        Path existing = root;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null || !Bpffs.isMounted(existing)) {
            Path mountPoint = root.startsWith(Bpffs.DEFAULT_MOUNT) ? Bpffs.DEFAULT_MOUNT : root;
            try {
                Files.createDirectories(mountPoint);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + mountPoint + " to mount bpffs on", e);
            }
            Bpffs.mount(mountPoint);
            LOG.info("mounted bpffs on {} (mode 0700)", mountPoint);
        }
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectories(root, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the pin root " + root, e);
            }
        }
        Bpffs.checkPinRoot(root);
    }
}
