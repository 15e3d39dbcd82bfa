package io.vesicle.cluster.etcd;

import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateProvider;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EtcdSettingsTest {
    private static Map<String, String> minimal() {
        Map<String, String> settings = new HashMap<>();
        settings.put("etcdEndpoints", "http://10.0.0.1:2379, http://etcd-b:2379");
        settings.put("clusterCIDR", "10.244.0.0/16");
        return settings;
    }

    @Test
    void defaultsApplyToWhatIsNotSet() {
        EtcdSettings settings = EtcdSettings.parse(minimal());
        assertEquals(List.of(URI.create("http://10.0.0.1:2379"), URI.create("http://etcd-b:2379")), settings.endpoints());
        assertEquals("/vesicle", settings.prefix());
        assertEquals(Duration.ofSeconds(10), settings.leaseTTL());
        assertEquals(Cidr.parse("10.244.0.0/16"), settings.clusterCIDR());
        assertEquals(24, settings.nodeCIDRMaskSize());
    }

    @Test
    void everyKeyIsRead() {
        Map<String, String> given = minimal();
        given.put("etcdPrefix", "/clusters/a/");
        given.put("etcdLeaseTTL", "2");
        given.put("nodeCIDRMaskSize", "26");
        EtcdSettings settings = EtcdSettings.parse(given);
        assertEquals("/clusters/a", settings.prefix());
        assertEquals(Duration.ofSeconds(2), settings.leaseTTL());
        assertEquals(26, settings.nodeCIDRMaskSize());
    }

    @Test
    void aBadSettingIsRefusedNamingItsKey() {
        Map<String, Map<String, String>> bad = Map.of(
                "etcdEndpoints", Map.of("etcdEndpoints", "10.0.0.1:2379"),
                "etcdPrefix", Map.of("etcdPrefix", "vesicle"),
                "etcdLeaseTTL", Map.of("etcdLeaseTTL", "1"),
                "clusterCIDR", Map.of("clusterCIDR", "10.244.0.1/16"),
                "nodeCIDRMaskSize", Map.of("nodeCIDRMaskSize", "12"));
        bad.forEach((key, override) -> {
            Map<String, String> settings = minimal();
            settings.putAll(override);
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> EtcdSettings.parse(settings), key);
            assertTrue(refused.getMessage().startsWith(key + ":"), refused.getMessage());
        });
        for (String required : List.of("etcdEndpoints", "clusterCIDR")) {
            Map<String, String> settings = minimal();
            settings.remove(required);
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> EtcdSettings.parse(settings));
            assertTrue(refused.getMessage().startsWith(required + ": is required"), refused.getMessage());
        }
        Map<String, String> https = minimal();
        https.put("etcdEndpoints", "https://10.0.0.1:2379");
        assertThrows(IllegalArgumentException.class, () -> EtcdSettings.parse(https));
    }

    @Test
    void theProviderIsFoundByKindAndConnectsNothingOnCreate() {
        ClusterStateProvider provider = ServiceLoader.load(ClusterStateProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.kind().equals("etcd")).findFirst().orElseThrow();
        Map<String, String> unreachable = minimal();
        unreachable.put("etcdEndpoints", "http://127.0.0.1:1");
        try (ClusterState state = provider.create(unreachable)) {
            assertInstanceOf(EtcdClusterState.class, state);
        }
        assertThrows(IllegalArgumentException.class, () -> provider.create(Map.of()));
    }
}
