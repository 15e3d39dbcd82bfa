package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.Errors;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Opens the network namespaces pods live in, refusing what must never be one: a file that is not
 * a network namespace (the loader checks what was opened, not the path, and opens without
 * blocking), the node's own namespace, the agent's own, and init's. The identity compared is the
 * namespace inode of the descriptor opened, so a path swapped after the check changes nothing.
 */
public final class PodNamespaces {
    /** A namespace's identity: the device and inode of its nsfs file. */
    record Identity(long dev, long inode) {
    }

    private static final Path INIT_NS = Path.of("/proc/1/ns/net");

    private final NetNs nodeNs;

    PodNamespaces(NetNs nodeNs) {
        this.nodeNs = nodeNs;
    }

    /**
     * Opens path as a pod's namespace.
     *
     * @throws AgentException NOT_FOUND (field "netns") when nothing is there, INVALID when it is
     *                        not a pod's network namespace
     */
    public NetNs open(Path path) {
        NetNs ns;
        try {
            ns = NetNs.open(path);
        } catch (NativeException e) {
            if (e.errno() == Errors.ENOENT) {
                throw AgentException.notFound("netns", "netns " + path + " does not exist");
            }
            throw AgentException.invalid("netns", "netns " + path + " is not a network namespace: " + e.getMessage());
        } catch (RuntimeException e) {
            throw AgentException.invalid("netns", "netns " + path + " is not a network namespace: " + e.getMessage());
        }
        try {
            Identity opened = identity(Path.of("/proc/self/fd/" + ns.fd()));
            refuse(opened, nodeIdentity(), path, "the node's own network namespace");
            refuse(opened, identity(Path.of("/proc/thread-self/ns/net")), path, "the agent's own network namespace");
            Optional<Identity> init = readableIdentity(INIT_NS);
            if (init.isPresent()) {
                refuse(opened, init.get(), path, "the network namespace of init (pid 1)");
            }
            return ns;
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    /** Opens and closes: for refusing a bad path before any work starts. */
    public void check(Path path) {
        open(path).close();
    }

    private Identity nodeIdentity() {
        return nodeNs == null ? identity(Path.of("/proc/thread-self/ns/net"))
                : identity(Path.of("/proc/self/fd/" + nodeNs.fd()));
    }

    private static void refuse(Identity opened, Identity forbidden, Path path, String what) {
        if (opened.equals(forbidden)) {
            throw AgentException.invalid("netns", "netns " + path + " is " + what + ", not a pod's");
        }
    }

    /** Init's, unless this process may not look at it (a sandbox's pid 1). */
    private static Optional<Identity> readableIdentity(Path file) {
        try {
            return Optional.of(identity(file));
        } catch (IllegalStateException e) {
            return Optional.empty();
        }
    }

    /** Follows the (magic) link to the namespace inode. */
    static Identity identity(Path file) {
        try {
            Object dev = Files.getAttribute(file, "unix:dev");
            Object ino = Files.getAttribute(file, "unix:ino");
            return new Identity(((Number) dev).longValue(), ((Number) ino).longValue());
        } catch (IOException e) {
            throw new IllegalStateException("cannot stat " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "PodNamespaces[" + Objects.toString(nodeNs, "own namespace") + "]";
    }
}
