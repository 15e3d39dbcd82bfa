package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.Errors;
import io.vesicle.loader.NamespaceId;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.NotANamespaceException;
import io.vesicle.loader.WrongNamespaceTypeException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens the network namespaces pods live in, refusing what must never be one: a file that is not
 * a network namespace (the loader checks what it opened, not the path, and opens without
 * blocking), the node's own namespace, the agent's own, and init's. Identities are those of the
 * descriptor opened, so a path swapped after the check changes nothing.
 */
public final class PodNamespaces {
    /** Identities that never change while the agent runs: read once. */
    private final NamespaceId node;
    private final NamespaceId own;
    private final Optional<NamespaceId> init;

    PodNamespaces(NetNs nodeNs) {
        this.own = NetNs.currentThreadId();
        this.node = nodeNs == null ? own : nodeNs.id();
        this.init = initId();
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
        } catch (NotANamespaceException | WrongNamespaceTypeException e) {
            throw AgentException.invalid("netns", "netns " + path + " is not a network namespace: " + e.getMessage());
        } catch (NativeException e) {
            if (e.errno() == Errors.ENOENT) {
                throw AgentException.notFound("netns", "netns " + path + " does not exist");
            }
            throw AgentException.invalid("netns", "netns " + path + " cannot be opened: " + e.getMessage());
        }
        try {
            NamespaceId opened = ns.id();
            refuse(opened, node, path, "the node's own network namespace");
            refuse(opened, own, path, "the agent's own network namespace");
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

    /** Init's, unless this process may not look at it (pid 1 of a sandbox). */
    private static Optional<NamespaceId> initId() {
        try {
            return Optional.of(NetNs.initId());
        } catch (NativeException e) {
            return Optional.empty();
        }
    }

    private static void refuse(NamespaceId opened, NamespaceId forbidden, Path path, String what) {
        if (opened.equals(forbidden)) {
            throw AgentException.invalid("netns", "netns " + path + " is " + what + ", not a pod's");
        }
    }
}
