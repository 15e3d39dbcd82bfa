package io.vesicle.agent.endpoint;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.core.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Endpoint state on disk: {@code <dir>/<containerID>_<ifname>.json}, one {@link Record} each,
 * replaced atomically and durably ({@link DurableFiles}), 0600 in a 0700 directory. The format is
 * the agent's own, with a version; files of version 1 (no version member) are read too.
 */
final class EndpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointStore.class);
    static final int VERSION = 2;
    private static final String SUFFIX = ".json";
    private static final String TMP_SUFFIX = ".tmp";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    /** What is persisted of an endpoint's life: its intent to exist, its being ready, its intent to go. */
    enum Status {
        creating, ready, disconnecting
    }

    /**
     * One file. Version 1 also carried {@code address} and {@code ipamOwned}: since version 2 the
     * IPAM is the only owner of addresses, and those members are read only to migrate.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Record(Integer version, Status status, int id, String containerID, String ifname, String network,
                  String netns, String podNamespace, String podName, String hostIf, String hostMac, String mac,
                  String gateway, int mtu, int identity, String address, Boolean ipamOwned) {
        AttachmentKey key() {
            return new AttachmentKey(containerID, ifname);
        }
    }

    /** A file that could not be read: its name and why. */
    record Unreadable(Path file, String reason) {
    }

    /** What {@link #loadAll()} found. */
    record Loaded(List<Record> records, List<Unreadable> unreadable) {
    }

    private final Path dir;

    EndpointStore(Path dir) {
        this.dir = dir;
        try {
            DurableFiles.privateDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the endpoint state directory " + dir, e);
        }
    }

    static String fileName(AttachmentKey key) {
        return key.containerID() + "_" + key.ifname() + SUFFIX;
    }

    Path file(AttachmentKey key) {
        return dir.resolve(fileName(key));
    }

    void write(Record record) {
        Path target = file(record.key());
        try {
            DurableFiles.replace(target, JSON.writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write endpoint state " + target, e);
        }
    }

    void delete(AttachmentKey key) {
        Path file = file(key);
        try {
            DurableFiles.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete endpoint state " + file, e);
        }
    }

    /** Every state file; temporary files of an interrupted write are deleted. */
    Loaded loadAll() {
        List<Record> records = new ArrayList<>();
        List<Unreadable> unreadable = new ArrayList<>();
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
                    Record record = JSON.readValue(file.toFile(), Record.class);
                    if (record == null || record.containerID() == null || record.ifname() == null
                            || record.status() == null || !name.equals(fileName(record.key()))) {
                        throw new IOException("it does not describe the endpoint its name says");
                    }
                    if (record.version() != null && record.version() > VERSION) {
                        throw new IOException("it is of version " + record.version() + ", newer than this agent's "
                                + VERSION);
                    }
                    records.add(record);
                } catch (IOException e) {
                    unreadable.add(new Unreadable(file, e.getMessage() == null ? e.toString()
                            : e.getMessage().lines().findFirst().orElse("")));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read endpoint state in " + dir, e);
        }
        return new Loaded(records, unreadable);
    }

    /** The attachments a file name may stand for: containerID and ifname may both hold '_'. */
    static List<AttachmentKey> candidates(Path file) {
        String name = file.getFileName().toString();
        String base = name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length()) : name;
        List<AttachmentKey> keys = new ArrayList<>();
        for (int i = base.indexOf('_'); i > 0; i = base.indexOf('_', i + 1)) {
            if (i < base.length() - 1) {
                keys.add(new AttachmentKey(base.substring(0, i), base.substring(i + 1)));
            }
        }
        return keys;
    }

    /** Keeps an unreadable file's bytes beside it for a person to look at. */
    void quarantine(Path file) {
        Path aside = file.resolveSibling(file.getFileName() + ".corrupt");
        try {
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            DurableFiles.syncDirectory(dir);
        } catch (IOException e) {
            LOG.warn("state: cannot move {} aside: {}", file, e.getMessage());
        }
    }
}
