package io.vesicle.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {
    @TempDir
    Path dir;

    Path yaml(String text) throws IOException {
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, text);
        return file;
    }

    @Test
    void defaultsNeedOnlyThePodCidr() {
        AgentConfig config = AgentConfig.load(null, Map.of("pod-cidr", "10.244.1.0/24"));
        assertEquals("10.244.1.0/24", config.podCIDR().toString());
        assertEquals("10.244.1.1", config.gateway().getHostAddress());
        assertEquals(1450, config.mtu());
        assertEquals(Path.of("/sys/fs/bpf/vesicle"), config.bpffsRoot());
        assertEquals(Path.of("/var/lib/vesicle"), config.stateDir());
        assertEquals(Path.of("/var/run/vesicle/vesicle.sock"), config.apiSocket());
        assertEquals(null, config.apiGroup(), "root only");
        assertEquals("127.0.0.1", config.metricsAddress().getAddress().getHostAddress());
        assertEquals(9962, config.metricsAddress().getPort());
        assertEquals(AgentConfig.defaultNodeName(), config.nodeName());
        assertTrue(!config.nodeName().isEmpty());
    }

    @Test
    void readsEveryKeyFromYaml() throws IOException {
        Path file = yaml("""
                nodeName: n1
                podCIDR: 10.244.7.0/24
                gateway: 10.244.7.254
                mtu: 1400
                bpffsRoot: /sys/fs/bpf/v1
                stateDir: /tmp/v1/state
                apiSocket: /tmp/v1/api.sock
                apiGroup: nogroup
                metricsAddress: 0.0.0.0:9100
                """);
        AgentConfig config = AgentConfig.load(file, Map.of());
        assertEquals("n1", config.nodeName());
        assertEquals("10.244.7.0/24", config.podCIDR().toString());
        assertEquals("10.244.7.254", config.gateway().getHostAddress());
        assertEquals(1400, config.mtu());
        assertEquals(Path.of("/sys/fs/bpf/v1"), config.bpffsRoot());
        assertEquals(Path.of("/tmp/v1/state"), config.stateDir());
        assertEquals(Path.of("/tmp/v1/api.sock"), config.apiSocket());
        assertEquals("nogroup", config.apiGroup());
        assertEquals(new java.net.InetSocketAddress("0.0.0.0", 9100), config.metricsAddress());
    }

    @Test
    void metricsAddressIsAnIpLiteralAndAPort() throws IOException {
        assertEquals(new java.net.InetSocketAddress("::1", 0), AgentConfig.load(null,
                Map.of("pod-cidr", "10.1.0.0/24", "metrics-address", "[::1]:0")).metricsAddress());
        String file = dir.resolve("agent.yaml").toString();
        for (String bad : new String[] {"localhost:9962", "127.0.0.1", "127.0.0.1:", ":9962", "127.0.0.1:65536",
                "127.0.0.1:-1", "127.0.0.256:9962", "::1:9962", "[::1]", "[]:9962", "[zz::1]:9962", "[1:2]:9962",
                "127.0.0.1:99x", "http://127.0.0.1:9962"}) {
            assertNames(failure(yaml("podCIDR: 10.244.1.0/24\nmetricsAddress: \"" + bad + "\"\n"), Map.of()),
                    "metricsAddress", file, "host:port", bad);
        }
        assertNames(failure(null, Map.of("pod-cidr", "10.1.0.0/24", "metrics-address", "nowhere")),
                "--metrics-address", "metricsAddress", "host:port");
    }

    @Test
    void flagsOverrideTheFile() throws IOException {
        Path file = yaml("nodeName: n1\npodCIDR: 10.244.7.0/24\nmtu: 1400\n");
        AgentConfig config = AgentConfig.load(file, Map.of("mtu", "1300", "node-name", "n2",
                "pod-cidr", "10.9.0.0/16", "api-socket", "/tmp/x.sock"));
        assertEquals(1300, config.mtu());
        assertEquals("n2", config.nodeName());
        assertEquals("10.9.0.0/16", config.podCIDR().toString());
        assertEquals("10.9.0.1", config.gateway().getHostAddress(), "the default gateway follows the CIDR");
        assertEquals(Path.of("/tmp/x.sock"), config.apiSocket());
    }

    @Test
    void emptyFileAndNullValuesMeanDefaults() throws IOException {
        Path file = yaml("gateway:\n");
        AgentConfig config = AgentConfig.load(file, Map.of("pod-cidr", "10.1.0.0/24"));
        assertEquals("10.1.0.1", config.gateway().getHostAddress());
        Files.writeString(file, "");
        assertEquals(1450, AgentConfig.load(file, Map.of("pod-cidr", "10.1.0.0/24")).mtu());
    }

    String failure(Path file, Map<String, String> flags) {
        return assertThrows(AgentConfig.ConfigException.class, () -> AgentConfig.load(file, flags)).getMessage();
    }

    void assertNames(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "'" + message + "' should name " + part);
        }
    }

    @Test
    void badValuesNameTheKeyAndTheFile() throws IOException {
        String file = dir.resolve("agent.yaml").toString();
        assertNames(failure(yaml("podCIDR: 10.244.1.0/33\n"), Map.of()), "podCIDR", file, "above 32");
        assertNames(failure(yaml("podCIDR: 10.244.1.5/24\n"), Map.of()), "podCIDR", file, "host bits");
        assertNames(failure(yaml("podCIDR: fd00::/64\n"), Map.of()), "podCIDR", file, "IPv4");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/31\n"), Map.of()), "podCIDR", file);
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\ngateway: 10.244.2.1\n"), Map.of()), "gateway", file,
                "outside");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\ngateway: 10.244.1.255\n"), Map.of()), "gateway", file,
                "broadcast");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\nmtu: big\n"), Map.of()), "mtu", file, "whole number");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\nmtu: 100\n"), Map.of()), "mtu", file, "576");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\nstateDir: relative/dir\n"), Map.of()), "stateDir", file,
                "absolute");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\nnodeName: [a, b]\n"), Map.of()), "nodeName", file);
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\npodCidr: 10.0.0.0/8\n"), Map.of()), "podCidr", file,
                "unknown");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\napiSocket: /tmp/" + "d".repeat(100) + "/s.sock\n"), Map.of()),
                "apiSocket", file, "too long");
        assertNames(failure(yaml("podCIDR: 10.244.1.0/24\napiGroup: no-such-group-here\n"), Map.of()), "apiGroup", file,
                "no group");
        assertNames(failure(yaml("mtu: 1400\n"), Map.of()), "podCIDR", file, "required");
        assertNames(failure(yaml("podCIDR: [\n"), Map.of()), file, "YAML");
        assertNames(failure(yaml("- a\n- b\n"), Map.of()), file, "mapping");
        assertNames(failure(dir.resolve("missing.yaml"), Map.of()), "missing.yaml", "does not exist");
    }

    @Test
    void badFlagsNameTheFlagTheKeyAndTheFile() throws IOException {
        Path file = yaml("podCIDR: 10.244.1.0/24\n");
        assertNames(failure(file, Map.of("mtu", "x")), "--mtu", "mtu", file.toString());
        assertNames(failure(null, Map.of("pod-cidr", "10.0.0.0")), "--pod-cidr", "podCIDR");
        assertNames(failure(null, Map.of()), "podCIDR", "required", "--pod-cidr");
    }

    @Test
    void apiGroupIsAnExistingGroupByNameOrId() {
        assertEquals("nogroup", AgentConfig.load(null, Map.of("pod-cidr", "10.1.0.0/24", "api-group", "nogroup"))
                .apiGroup());
        assertEquals("65534", AgentConfig.load(null, Map.of("pod-cidr", "10.1.0.0/24", "api-group", "65534"))
                .apiGroup());
        assertNames(failure(null, Map.of("pod-cidr", "10.1.0.0/24", "api-group", "no-such-group-here")),
                "--api-group", "apiGroup", "no group");
    }
}
