package io.vesicle.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class FileClusterStateTest {
    @TempDir
    Path dir;

    final LinkedBlockingQueue<ClusterEvent> events = new LinkedBlockingQueue<>();

    ClusterEvent next() throws InterruptedException {
        ClusterEvent e = events.poll(10, TimeUnit.SECONDS);
        if (e == null) {
            throw new AssertionError("no event within 10 s");
        }
        return e;
    }

    @Test
    void withoutAFileItIsOneNode() throws Exception {
        try (ClusterState state = new FileClusterState.Provider().create(Map.of("podCIDR", "10.1.0.0/24"))) {
            assertEquals(Cidr.parse("10.1.0.0/24"), state.join(new LocalNode("n1", null)).podCIDR());
            state.start(events::add).get(10, TimeUnit.SECONDS);
            assertTrue(state.hasSynced());
            assertTrue(next() instanceof ClusterEvent.Synced);
        }
    }

    @Test
    void deliversTheFilesNodesAndItsChangesAndSkipsBadLines() throws Exception {
        Path file = dir.resolve("nodes");
        Files.writeString(file, "n2 192.168.1.2 10.1.2.0/24 # second\nbad line\nn3 192.168.1.3 10.1.3.1/24\n");
        try (ClusterState state = new FileClusterState.Provider().create(Map.of("podCIDR", "10.1.1.0/24",
                "clusterFile", file.toString()))) {
            state.start(events::add).get(10, TimeUnit.SECONDS);
            assertEquals(new ClusterEvent.NodeUpserted(new NodeInfo("n2", Cidr.parseAddress("192.168.1.2"),
                    Cidr.parse("10.1.2.0/24")), file + " node n2"), next());
            assertTrue(next() instanceof ClusterEvent.Synced, "the two bad lines are skipped");
            Files.writeString(file, "n4 192.168.1.4 10.1.4.0/24\n");
            assertEquals(List.of("NodeDeleted", "NodeUpserted", "Synced"), List.of(name(next()), name(next()),
                    name(next())));
        }
    }

    @Test
    void badSettingsNameTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FileClusterState.Provider().create(Map.of("podCIDR", "10.1.1.0/33")));
        assertTrue(e.getMessage().startsWith("podCIDR"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FileClusterState.Provider().create(
                Map.of("podCIDR", "10.1.1.0/24", "clusterFile", "relative")));
        assertTrue(e.getMessage().contains("clusterFile"), e.getMessage());
    }

    static String name(ClusterEvent e) {
        return e.getClass().getSimpleName();
    }
}
