package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusGcTest extends AgentStubTest {
    static Map<String, String> env(String command) {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_PATH", "/opt/cni/bin");
        return env;
    }

    @Test
    void statusIsSilentWhenTheAgentIsReady() {
        Plugin.Outcome out = Plugin.run(env("STATUS"), Plugin.config("1.1.0", agent.socket(), ""));
        assertEquals(0, out.exit(), out.toString());
        assertEquals("", out.stdout());
        assertEquals(List.of("GET /v1/healthz"), agent.calls());
    }

    @Test
    void statusIs50WhenTheAgentIsDownOrNotReady() {
        Plugin.Outcome out = Plugin.run(env("STATUS"), Plugin.config("1.1.0", dir.resolve("down.sock"), ""));
        assertEquals(50, out.code());
        agent.health("{\"error\":\"datapath not loaded\"}");
        out = Plugin.run(env("STATUS"), Plugin.config("1.1.0", agent.socket(), ""));
        assertEquals(50, out.code());
        assertTrue(out.json().get("details").asText().contains("datapath not loaded"), out.stdout());
    }

    @Test
    void statusAndGcNeed110() {
        assertEquals(1, Plugin.run(env("STATUS"), Plugin.config("1.0.0", agent.socket(), "")).code());
        assertEquals(1, Plugin.run(env("GC"), Plugin.config("1.0.0", agent.socket(),
                "\"cni.dev/valid-attachments\":[]")).code());
        assertEquals(List.of(), agent.calls());
    }

    @Test
    void gcHandsTheValidAttachmentsToTheAgentAndPrintsNothing() {
        for (String id : List.of("keep", "stale")) {
            assertEquals(0, Plugin.run(Plugin.env("ADD", id), Plugin.config("1.1.0", agent.socket(), "")).exit());
        }
        Plugin.Outcome out = Plugin.run(env("GC"), Plugin.config("1.1.0", agent.socket(),
                "\"cni.dev/valid-attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}],"
                        + "\"cni.dev/attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]"));
        assertEquals(0, out.exit(), out.toString());
        assertEquals("", out.stdout());
        JsonNode body = agent.body(2);
        assertEquals("{\"valid\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}],\"network\":\"vesicle\"}",
                body.toString(), "the agent removes only what is not valid in this network");
        assertNull(agent.endpoint("stale", "eth0"));
        assertTrue(out.stderr().contains("stale"), out.stderr());
    }

    @Test
    void gcWithoutTheListRemovesNothing() {
        Plugin.Outcome out = Plugin.run(env("GC"), Plugin.config("1.1.0", agent.socket(), ""));
        assertEquals(7, out.code());
        assertEquals(List.of(), agent.calls());
    }

    @Test
    void gcNeedsCniPathAndAReachableAgent() {
        Map<String, String> env = env("GC");
        env.remove("CNI_PATH");
        assertEquals(4, Plugin.run(env, Plugin.config("1.1.0", agent.socket(), "\"cni.dev/valid-attachments\":[]")).code());
        assertEquals(11, Plugin.run(env("GC"), Plugin.config("1.1.0", dir.resolve("down.sock"),
                "\"cni.dev/valid-attachments\":[]")).code());
    }
}
