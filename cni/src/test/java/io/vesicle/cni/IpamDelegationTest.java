package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IpamDelegationTest extends AgentStubTest {
    static final Path HOST_LOCAL = Path.of("/usr/lib/cni/host-local");
    static final String IPAM = "\"ipam\":{\"type\":\"" + FakeIpam.NAME + "\",\"subnet\":\"10.99.0.0/24\"}";

    @TempDir
    Path cniPath;
    FakeIpam ipam;

    @BeforeEach
    void start() throws Exception {
        ipam = new FakeIpam(cniPath);
    }

    Map<String, String> env(String command, String id) {
        Map<String, String> env = Plugin.env(command, id);
        env.put("CNI_PATH", "/nonexistent:" + cniPath);
        return env;
    }

    @Test
    void addTakesTheDelegatedAddressAndItsDns() {
        String config = Plugin.config("1.0.0", agent.socket(), IPAM);
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), config);
        assertEquals(0, out.exit(), out.toString());
        JsonNode body = agent.body(0);
        assertEquals("10.99.0.7/24", body.get("address").asText());
        assertEquals("10.99.0.1", body.get("gateway").asText());
        JsonNode result = out.json();
        assertEquals("10.99.0.7/24", result.get("ips").get(0).get("address").asText());
        assertEquals("10.99.0.53", result.get("dns").get("nameservers").get(0).asText());
        assertEquals(List.of("ADD " + config), ipam.calls(), "same stdin as the plugin got");
    }

    @Test
    void theDelegatedPluginGetsThePluginsEnvironment() throws IOException {
        Files.writeString(cniPath.resolve("ADD.out"), "");
        Path script = cniPath.resolve(FakeIpam.NAME);
        Files.writeString(script, "#!/bin/sh\nenv | grep '^CNI_' | sort > \"$(dirname \"$0\")/env.txt\"\n"
                + "echo '" + FakeIpam.ADD_RESULT + "'\n");
        assertEquals(0, Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), IPAM)).exit());
        List<String> seen = Files.readAllLines(cniPath.resolve("env.txt"));
        assertEquals(List.of("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_UID=u1",
                "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1", "CNI_IFNAME=eth0", "CNI_NETNS=/proc/self/ns/net",
                "CNI_PATH=/nonexistent:" + cniPath), seen);
    }

    @Test
    void aFailedAgentCallReleasesTheDelegatedAddress() {
        for (int status : new int[] {409, 500}) {
            agent.fail("PUT /v1/endpoints", status, "no");
            Plugin.Outcome out = Plugin.run(env("ADD", "c" + status), Plugin.config("1.1.0", agent.socket(), IPAM));
            assertEquals(1, out.exit());
        }
        assertEquals(List.of("ADD", "DEL", "ADD", "DEL"), ipam.commands());
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", dir.resolve("down.sock"), IPAM));
        assertEquals(11, out.code());
        assertEquals(List.of("ADD", "DEL", "ADD", "DEL", "ADD", "DEL"), ipam.commands());
    }

    @Test
    void theDelegatedPluginsErrorIsPassedOnAndTheAgentNotCalled() {
        ipam.answer("ADD", "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"no IP addresses available in range set\"}", 1);
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), IPAM));
        assertEquals(999, out.code());
        assertEquals("no IP addresses available in range set", out.msg());
        assertEquals(List.of(), agent.calls());
        ipam.answer("ADD", "segfault", 2);
        out = Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), IPAM));
        assertEquals(999, out.code());
        assertTrue(out.msg().contains("exit status 2"), out.msg());
        assertEquals("segfault", out.json().get("details").asText());
    }

    @Test
    void aResultWithoutIpv4IsRefusedAndReleased() {
        ipam.answer("ADD", "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::7/64\"}]}", 0);
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), IPAM));
        assertEquals(7, out.code());
        assertEquals(List.of("ADD", "DEL"), ipam.commands());
        assertEquals(List.of(), agent.calls());
    }

    @Test
    void aPluginMissingFromCniPathIsError7AndNoCniPathIsError4() {
        String config = Plugin.config("1.1.0", agent.socket(), "\"ipam\":{\"type\":\"no-such-ipam\"}");
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), config);
        assertEquals(7, out.code());
        assertTrue(out.msg().contains("ipam.type"), out.msg());
        Map<String, String> env = env("ADD", "c1");
        env.remove("CNI_PATH");
        out = Plugin.run(env, Plugin.config("1.1.0", agent.socket(), IPAM));
        assertEquals(4, out.code());
        assertTrue(out.msg().contains("CNI_PATH"), out.msg());
        assertEquals(List.of(), agent.calls());
    }

    @Test
    void anOlderPluginIsCalledAgainInTheNewestVersionItSpeaks() {
        ipam.refuse("1.1.0");
        ipam.answer("VERSION", "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.1\",\"0.4.0\",\"1.0.0\"]}", 0);
        Plugin.Outcome out = Plugin.run(env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), IPAM));
        assertEquals(0, out.exit(), out.toString());
        List<String> calls = ipam.calls();
        assertEquals(List.of("ADD", "VERSION", "ADD"), ipam.commands());
        assertTrue(calls.get(2).contains("\"cniVersion\":\"1.0.0\""), calls.get(2));
        assertEquals("1.1.0", out.json().get("cniVersion").asText(), "our result stays in the config's version");
    }

    @Test
    void delReleasesAfterTheAgentAndKeepsTheAddressWhileTheAgentIsAway() {
        String config = Plugin.config("1.1.0", agent.socket(), IPAM);
        assertEquals(0, Plugin.run(env("ADD", "c1"), config).exit());
        assertEquals(0, Plugin.run(env("DEL", "c1"), config).exit());
        assertEquals(List.of("PUT /v1/endpoints", "DELETE /v1/endpoints/c1/eth0"), agent.calls());
        assertEquals(List.of("ADD", "DEL"), ipam.commands());
        Plugin.Outcome out = Plugin.run(env("DEL", "c1"), Plugin.config("1.1.0", dir.resolve("down.sock"), IPAM));
        assertEquals(11, out.code());
        assertEquals(List.of("ADD", "DEL"), ipam.commands(), "not released while its endpoint may still use it");
    }

    @Test
    void checkGcAndStatusReachThePluginWhenItSpeaks110() {
        String config = Plugin.config("1.1.0", agent.socket(), IPAM + ",\"cni.dev/valid-attachments\":[]");
        Plugin.Outcome add = Plugin.run(env("ADD", "c1"), config);
        String withPrev = Plugin.config("1.1.0", agent.socket(), IPAM + ",\"prevResult\":" + add.stdout().strip());
        assertEquals(0, Plugin.run(env("CHECK", "c1"), withPrev).exit());
        assertEquals(0, Plugin.run(env("GC", "c1"), config).exit());
        assertEquals(0, Plugin.run(env("STATUS", "c1"), config).exit());
        assertEquals(List.of("ADD", "CHECK", "VERSION", "GC", "VERSION", "STATUS"), ipam.commands());
        ipam.answer("VERSION", "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}", 0);
        assertEquals(0, Plugin.run(env("GC", "c1"), config).exit());
        assertEquals(0, Plugin.run(env("STATUS", "c1"), config).exit());
        assertEquals(List.of("ADD", "CHECK", "VERSION", "GC", "VERSION", "STATUS", "VERSION", "VERSION"),
                ipam.commands(), "skipped for a plugin without 1.1.0");
        ipam.answer("VERSION", "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"1.1.0\"]}", 0);
        ipam.answer("STATUS", "{\"cniVersion\":\"1.1.0\",\"code\":50,\"msg\":\"store locked\"}", 1);
        assertEquals(50, Plugin.run(env("STATUS", "c1"), config).code());
    }

    /** The reference host-local plugin, as Debian ships it (spec up to 1.0.0): allocate and release. */
    @Test
    void withTheReferenceHostLocal() throws IOException {
        assumeTrue(Files.isExecutable(HOST_LOCAL), "containernetworking-plugins is not installed");
        Path data = dir.resolve("host-local");
        String config = Plugin.config("1.1.0", agent.socket(), "\"ipam\":{\"type\":\"host-local\","
                + "\"ranges\":[[{\"subnet\":\"10.98.0.0/24\"}]],\"dataDir\":\"" + data + "\"}");
        Map<String, String> env = Plugin.env("ADD", "c1");
        env.put("CNI_PATH", HOST_LOCAL.getParent().toString());
        // A real plugin must never be handed the machine's own namespace: give it one of its own.
        Process holder = new ProcessBuilder("unshare", "--net", "sleep", "300").start();
        try {
            Path netns = Path.of("/proc/" + holder.pid() + "/ns/net");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (Files.readSymbolicLink(netns).equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")))) {
                assertTrue(System.nanoTime() < deadline, "unshare made no namespace within 10 s");
                Thread.onSpinWait();
            }
            env.put("CNI_NETNS", netns.toString());
            hostLocalAddsAndDeletes(env, config, data);
        } finally {
            holder.destroyForcibly();
        }
    }

    private void hostLocalAddsAndDeletes(Map<String, String> env, String config, Path data) throws IOException {
        Plugin.Outcome out = Plugin.run(env, config);
        assertEquals(0, out.exit(), out.toString());
        assertEquals("10.98.0.2/24", agent.body(0).get("address").asText());
        assertEquals("10.98.0.1", agent.body(0).get("gateway").asText());
        assertTrue(Files.exists(data.resolve("vesicle/10.98.0.2")), "host-local holds the address");
        env.put("CNI_COMMAND", "DEL");
        assertEquals(0, Plugin.run(env, config).exit());
        try (Stream<Path> files = Files.list(data.resolve("vesicle"))) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith("10.")), "released");
        }
        assertEquals(0, Plugin.run(env, config).exit(), "a repeated DEL succeeds");
    }
}
