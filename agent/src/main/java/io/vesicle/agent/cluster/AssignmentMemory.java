package io.vesicle.agent.cluster;

import io.vesicle.agent.core.DurableFiles;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.NodeAssignment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last pod CIDR the cluster assigned this node, kept in the state directory: an agent
 * restarting while the store is away starts with it (its pods already hold addresses from it)
 * instead of failing until the store returns.
 */
public final class AssignmentMemory {
    private static final Logger LOG = LoggerFactory.getLogger(AssignmentMemory.class);
    private final Path file;
    private final String source;

    /** @param source the cluster state kind: an assignment of another kind is not used */
    public AssignmentMemory(Path stateDir, String source) {
        this.file = stateDir.resolve("cluster-assignment");
        this.source = source;
    }

    public void remember(NodeAssignment assignment) {
        String text = "source=" + source + "\npodCIDR=" + assignment.podCIDR() + "\nclusterCIDR="
                + (assignment.clusterCIDR() == null ? "" : assignment.clusterCIDR()) + "\n";
        try {
            if (Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).equals(text)) {
                return;
            }
            DurableFiles.replace(file, text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The remembered assignment from the same kind of source; empty when none or unreadable. */
    public Optional<NodeAssignment> recall() {
        try {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    fields.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            if (!source.equals(fields.get("source")) || fields.get("podCIDR") == null) {
                return Optional.empty();
            }
            String cluster = fields.getOrDefault("clusterCIDR", "");
            return Optional.of(new NodeAssignment(Cidr.parse(fields.get("podCIDR")),
                    cluster.isEmpty() ? null : Cidr.parse(cluster)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("ignoring {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }
}
