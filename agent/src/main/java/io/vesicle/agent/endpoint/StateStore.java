package io.vesicle.agent.endpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages.Attachment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Endpoint state files: {@code <dir>/<containerID>_<ifname>.json}, each replaced atomically
 * (written to a temporary file, then renamed), so a reader or a restarted agent sees the old
 * content or the new, never a mix. No fsync: the files must survive the agent's death, which the
 * page cache does; a node that reboots loses its pods' namespaces and veths anyway, and the restore
 * cleans up after them.
 */
public final class StateStore {
    private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);
    private static final String SUFFIX = ".json";
    private static final String TMP_SUFFIX = ".tmp";

    private final Path dir;

    StateStore(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the endpoint state directory " + dir, e);
        }
    }

    Path dir() {
        return dir;
    }

    static String fileName(Attachment key) {
        return key.containerID() + "_" + key.ifname() + SUFFIX;
    }

    Path file(Attachment key) {
        return dir.resolve(fileName(key));
    }

    void write(EndpointState state) {
        Path target = file(state.key());
        Path tmp = dir.resolve("." + target.getFileName() + TMP_SUFFIX);
        try {
            Files.write(tmp, AgentClient.JSON.writeValueAsBytes(state));
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot write endpoint state " + target, e);
        }
    }

    void delete(Attachment key) {
        Path file = file(key);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete endpoint state " + file, e);
        }
    }

    /**
     * Every state file; temporary files of an interrupted write are deleted, unreadable files are
     * renamed {@code *.corrupt} and reported.
     */
    List<EndpointState> loadAll() {
        List<EndpointState> states = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                if (name.startsWith(".") && name.endsWith(TMP_SUFFIX)) {
                    Files.deleteIfExists(file);
                    continue;
                }
                if (!name.endsWith(SUFFIX)) {
                    continue;
                }
                try {
                    EndpointState state = AgentClient.JSON.readValue(file.toFile(), EndpointState.class);
                    if (state.containerID() == null || state.ifname() == null || state.hostIf() == null
                            || !name.equals(fileName(state.key()))) {
                        throw new IOException("it does not describe the endpoint its name says");
                    }
                    states.add(state);
                } catch (JsonProcessingException e) {
                    quarantine(file, e.getOriginalMessage());
                } catch (IOException e) {
                    quarantine(file, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read endpoint state in " + dir, e);
        }
        return states;
    }

    private static void quarantine(Path file, String why) throws IOException {
        Path aside = file.resolveSibling(file.getFileName() + ".corrupt");
        Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
        LOG.warn("state: " + file + " is unreadable (" + why + "); moved to " + aside);
    }
}
