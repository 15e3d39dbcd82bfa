package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MainTest {
    static final String VERSION = "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\","
            + "\"1.0.0\",\"1.1.0\"]}\n";

    @Test
    void versionPrintsTheSupportedVersionsWhateverStdinHolds() {
        for (String stdin : List.of("", "{\"cniVersion\":\"0.4.0\"}", "garbage")) {
            Plugin.Outcome out = Plugin.run(Map.of("CNI_COMMAND", "VERSION"), stdin);
            assertEquals(0, out.exit());
            assertEquals(VERSION, out.stdout());
        }
    }

    @Test
    void anErrorIsOneJsonDocumentWithTheSpecsMembers() {
        Map<String, String> env = Plugin.env("ADD", "c1");
        env.remove("CNI_IFNAME");
        Plugin.Outcome out = Plugin.run(env, "{}");
        assertEquals(1, out.exit());
        assertTrue(out.stdout().endsWith("}\n") && out.stdout().indexOf('\n') == out.stdout().length() - 1, out.stdout());
        JsonNode json = out.json();
        List<String> members = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(members::add);
        assertEquals(List.of("cniVersion", "code", "msg", "details"), members);
        assertEquals("1.1.0", json.get("cniVersion").asText());
        assertEquals(4, json.get("code").asInt());
        assertTrue(json.get("msg").asText().contains("CNI_IFNAME"));
        assertTrue(out.stderr().contains("CNI_IFNAME"), "diagnostics on stderr too: " + out.stderr());
    }

    @Test
    void anErrorSpeaksTheConfigsVersionOnceItIsKnown() {
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", "c1"),
                "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"vesicle\",\"agentSocket\":\"/nonexistent/agent.sock\"}");
        assertEquals(11, out.code());
        assertEquals("0.3.1", out.json().get("cniVersion").asText());
    }

    @Test
    void stdinProblemsAreDecodingErrorsAndUnknownCommandsEnvironmentErrors() {
        assertEquals(6, Plugin.run(Plugin.env("ADD", "c1"), "").code());
        assertEquals(6, Plugin.run(Plugin.env("DEL", "c1"), "{\"cniVersion\":").code());
        assertEquals(1, Plugin.run(Plugin.env("ADD", "c1"), "{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"type\":\"v\"}").code());
        assertEquals(7, Plugin.run(Plugin.env("ADD", "c1"), "{\"cniVersion\":\"1.0.0\",\"type\":\"v\"}").code());
        assertEquals(4, Plugin.run(Plugin.env("INIT", "c1"), "{}").code());
        assertEquals(4, Plugin.run(Map.of(), "{}").code());
    }
}
