package io.vesicle.cni;

import io.vesicle.api.Messages;
import java.util.List;

/**
 * GC (1.1.0): the agent removes every endpoint (and its own IPAM's address) of this network (the
 * configuration's {@code name}) that is not in {@code cni.dev/valid-attachments}; endpoints of
 * other networks served by the same agent are not touched. A delegated IPAM plugin that speaks 1.1.0 gets the same GC.
 * Prints nothing on success; what was removed goes to stderr.
 */
final class Gc {
    private Gc() {
    }

    static String run(Invocation inv) throws CniError {
        NetworkConfig config = inv.config();
        config.requireVersion(NetworkConfig.CURRENT_VERSION, CniEnvironment.Command.GC);
        List<Messages.Attachment> valid = config.validAttachments();
        Messages.GcResult result;
        try {
            result = inv.agent().gc(new Messages.GcRequest(valid, config.name()));
        } catch (RuntimeException e) {
            throw inv.agentFailure(e);
        }
        if (!result.removed().isEmpty()) {
            inv.log().println("vesicle-cni: GC removed " + result.removed());
        }
        if (config.delegatesIpam()) {
            inv.ipam().gc();
        }
        return null;
    }
}
