package io.vesicle.cluster;

import java.io.IOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster from local settings: this node's pod CIDR from the agent config and, optionally, the
 * other nodes from a file of lines {@code name underlayIP podCIDR} ({@code #} starts a comment),
 * read again within a second of a change. Without a file it is one node, as before clusters.
 */
public final class FileClusterState implements ClusterState {
    private static final Logger LOG = LoggerFactory.getLogger(FileClusterState.class);
    static final long POLL_MILLIS = 500;

    private final Cidr podCIDR;
    private final Cidr clusterCIDR;
    private final Path file;
    private final ScheduledExecutorService poller;
    private final Map<String, NodeInfo> delivered = new HashMap<>();
    private volatile boolean synced;
    private volatile String degraded;
    private String lastContent;
    private ClusterEvents handler;

    public FileClusterState(Cidr podCIDR, Cidr clusterCIDR, Path file) {
        this.podCIDR = podCIDR;
        this.clusterCIDR = clusterCIDR;
        this.file = file;
        this.poller = EventThread.named("vesicle-cluster-file");
    }

    /** The provider of kind "file": settings podCIDR (required), clusterCIDR, clusterFile. */
    public static final class Provider implements ClusterStateProvider {
        @Override
        public String kind() {
            return "file";
        }

        @Override
        public ClusterState create(Map<String, String> settings) {
            String pod = settings.get("podCIDR");
            if (pod == null) {
                throw new IllegalArgumentException("podCIDR is required with the file cluster state");
            }
            Cidr podCIDR = parse("podCIDR", pod);
            Cidr cluster = settings.containsKey("clusterCIDR") ? parse("clusterCIDR", settings.get("clusterCIDR")) : null;
            String path = settings.get("clusterFile");
            if (path != null && !path.startsWith("/")) {
                throw new IllegalArgumentException("clusterFile '" + path + "' is not an absolute path");
            }
            return new FileClusterState(podCIDR, cluster, path == null ? null : Path.of(path));
        }

        private static Cidr parse(String key, String value) {
            try {
                return Cidr.parse(value);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public NodeAssignment join(LocalNode self) {
        return new NodeAssignment(podCIDR, clusterCIDR);
    }

    @Override
    public synchronized CompletableFuture<Void> start(ClusterEvents handler) {
        if (this.handler != null) {
            throw new IllegalStateException("already started");
        }
        this.handler = handler;
        CompletableFuture<Void> first = new CompletableFuture<>();
        poller.execute(() -> {
            read();
            synced = true;
            first.complete(null);
        });
        if (file != null) {
            poller.scheduleWithFixedDelay(this::read, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
        return first;
    }

    /** Reads the file if it changed and delivers the difference, then Synced. On the poller thread. */
    private void read() {
        String content;
        if (file == null) {
            content = "";
        } else {
            try {
                content = Files.readString(file, StandardCharsets.UTF_8);
                degraded = null;
            } catch (NoSuchFileException e) {
                content = "";
                degraded = null; // no other nodes
            } catch (IOException e) {
                degraded = "cannot read " + file + ": " + e.getMessage();
                return; // keep what was delivered
            }
        }
        if (content.equals(lastContent)) {
            return;
        }
        lastContent = content;
        Map<String, NodeInfo> nodes = parse(content);
        for (String gone : List.copyOf(delivered.keySet())) {
            if (!nodes.containsKey(gone)) {
                delivered.remove(gone);
                handler.on(new ClusterEvent.NodeDeleted(gone, origin(null)));
            }
        }
        for (NodeInfo node : nodes.values()) {
            if (!node.equals(delivered.put(node.name(), node))) {
                handler.on(new ClusterEvent.NodeUpserted(node, origin(node.name())));
            }
        }
        handler.on(new ClusterEvent.Synced(origin(null)));
    }

    private String origin(String node) {
        return file == null ? "the agent config" : node == null ? file.toString() : file + " node " + node;
    }

    private Map<String, NodeInfo> parse(String content) {
        Map<String, NodeInfo> nodes = new LinkedHashMap<>();
        String[] lines = content.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].replaceFirst("#.*", "").strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] fields = line.split("\\s+");
            try {
                if (fields.length != 3) {
                    throw new IllegalArgumentException("expected 'name underlayIP podCIDR', got "
                            + fields.length + " fields");
                }
                Inet4Address ip = Cidr.parseAddress(fields[1]);
                NodeInfo node = new NodeInfo(fields[0], ip, Cidr.parse(fields[2]));
                if (nodes.containsKey(node.name())) {
                    throw new IllegalArgumentException("node " + node.name() + " is listed twice");
                }
                nodes.put(node.name(), node);
            } catch (IllegalArgumentException e) {
                LOG.warn("refused {} line {}: {} ({})", file, i + 1, e.getMessage(), Arrays.toString(fields));
            }
        }
        return nodes;
    }

    @Override
    public boolean hasSynced() {
        return synced;
    }

    @Override
    public Optional<String> degradedReason() {
        return Optional.ofNullable(degraded);
    }

    @Override
    public void publishPod(PodInfo pod) {
        // nobody to tell
    }

    @Override
    public void withdrawPod(String namespace, String name) {
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
