package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddTest extends AgentStubTest {
    static final String LEGACY = "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"lxc00000000001\","
            + "\"mac\":\"02:00:00:00:01:01\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:02:01\","
            + "\"sandbox\":\"/proc/self/ns/net\"}],\"ips\":[{\"version\":\"4\",\"interface\":1,"
            + "\"address\":\"10.244.1.2/24\",\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
            + "\"gw\":\"10.244.1.1\"}],\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}\n";
    static final String CURRENT = "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"lxc00000000001\","
            + "\"mac\":\"02:00:00:00:01:01\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:02:01\",\"mtu\":1450,"
            + "\"sandbox\":\"/proc/self/ns/net\"}],\"ips\":[{\"interface\":1,\"address\":\"10.244.1.2/24\","
            + "\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.1.1\"}],"
            + "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}\n";

    @ParameterizedTest
    @CsvSource({"0.3.0,legacy", "0.3.1,legacy", "0.4.0,legacy", "1.0.0,current", "1.1.0,current"})
    void addCreatesTheEndpointAndPrintsTheResultInTheConfigsVersion(String version, String shape) {
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config(version, agent.socket(),
                "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}"));
        assertEquals(0, out.exit(), out.toString());
        assertEquals(String.format(shape.equals("legacy") ? LEGACY : CURRENT, version), out.stdout());
        assertEquals(List.of("PUT /v1/endpoints"), agent.calls());
        JsonNode body = agent.body(0);
        assertEquals("c1", body.get("containerID").asText());
        assertEquals("eth0", body.get("ifname").asText());
        assertEquals(Plugin.NETNS, body.get("netns").asText());
        assertEquals("default", body.get("podNamespace").asText());
        assertEquals("web-1", body.get("podName").asText());
        assertEquals("vesicle", body.get("network").asText(), "the configuration's name scopes GC");
        assertFalse(body.has("address"), "the agent's IPAM allocates: " + body);
        assertFalse(body.has("gateway"));
    }

    @Test
    void withoutKubernetesArgsThePodIsLeftOut() {
        Map<String, String> env = Plugin.env("ADD", "c1");
        env.remove("CNI_ARGS");
        assertEquals(0, Plugin.run(env, Plugin.config("1.1.0", agent.socket(), "")).exit());
        assertFalse(agent.body(0).has("podName"));
    }

    @Test
    void aChainedAddAppendsToPrevResult() {
        String prev = "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"dummy0\","
                + "\"sandbox\":\"/proc/self/ns/net\"}],\"ips\":[{\"interface\":0,\"address\":\"192.168.5.5/24\"}],"
                + "\"dns\":{\"domain\":\"prev.example\"}}";
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.0.0", agent.socket(), prev));
        assertEquals(0, out.exit(), out.toString());
        JsonNode json = out.json();
        assertEquals(3, json.get("interfaces").size());
        assertEquals("dummy0", json.get("interfaces").get(0).get("name").asText());
        assertEquals("eth0", json.get("interfaces").get(2).get("name").asText());
        assertEquals(0, json.get("ips").get(0).get("interface").asInt());
        assertEquals(2, json.get("ips").get(1).get("interface").asInt());
        assertEquals("prev.example", json.get("dns").get("domain").asText());
    }

    @Test
    void aMalformedPrevResultFailsBeforeTheAgentIsCalled() {
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.0.0", agent.socket(),
                "\"prevResult\":{\"ips\":[{\"address\":\"10.0.0.1\"}]}"));
        assertEquals(7, out.code());
        assertTrue(out.msg().contains("prevResult.ips[0].address"), out.msg());
        assertEquals(List.of(), agent.calls());
    }

    /** Agent answers and the CNI codes they become (README, "CNI error codes"). */
    @ParameterizedTest(name = "agent {0} -> {1}")
    @CsvSource({"409,101", "507,100", "404,4", "400,7", "422,7", "500,999", "502,999", "503,11"})
    void agentFailuresMapToCniCodes(int status, int code) {
        agent.fail("PUT /v1/endpoints", status, "reason " + status);
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), ""));
        assertEquals(1, out.exit());
        assertEquals(code, out.code(), out.toString());
        assertTrue(out.json().get("details").asText().contains("reason " + status), out.stdout());
        assertEquals(List.of("PUT /v1/endpoints"), agent.calls(), "an error answer means nothing to undo");
    }

    @Test
    void anUnreachableAgentIsTryAgainLater() {
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.1.0", dir.resolve("nobody.sock"), ""));
        assertEquals(11, out.code());
        assertTrue(out.json().get("details").asText().contains("nobody.sock"), out.stdout());
    }

    @Test
    void anAgentThatDoesNotAnswerInTimeIsTryAgainLaterAndTheEndpointIsUndone() {
        agent.hang("PUT /v1/endpoints");
        long start = System.nanoTime();
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), ""),
                Duration.ofMillis(300));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(11, out.code(), out.toString());
        assertTrue(out.json().get("details").asText().contains("no answer within 300 ms"), out.stdout());
        assertTrue(millis < 5_000, "took " + millis + " ms");
        assertEquals(List.of("PUT /v1/endpoints", "DELETE /v1/endpoints/c1/eth0"), agent.calls());
    }

    @Test
    void aLostAnswerUndoesTheEndpoint() {
        agent.drop("PUT /v1/endpoints");
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"), Plugin.config("1.1.0", agent.socket(), ""));
        assertEquals(11, out.code(), out.toString());
        assertEquals(List.of("PUT /v1/endpoints", "DELETE /v1/endpoints/c1/eth0"), agent.calls());
    }

    @Test
    void parallelAddsForDifferentPodsDoNotMix() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Plugin.Outcome>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                String id = "pod" + i;
                Callable<Plugin.Outcome> add = () -> Plugin.run(Plugin.env("ADD", id),
                        Plugin.config("1.1.0", agent.socket(), ""));
                results.add(pool.submit(add));
            }
            Set<String> addresses = new HashSet<>();
            for (int i = 0; i < results.size(); i++) {
                Plugin.Outcome out = results.get(i).get();
                assertEquals(0, out.exit(), out.toString());
                String address = out.json().get("ips").get(0).get("address").asText();
                assertTrue(addresses.add(address), "address handed out twice: " + address);
                assertEquals(address, agent.endpoint("pod" + i, "eth0").get("address").asText(),
                        "pod" + i + "'s result shows its own endpoint");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
