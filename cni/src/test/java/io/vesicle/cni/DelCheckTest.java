package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DelCheckTest extends AgentStubTest {
    String config(String version, String extra) {
        return Plugin.config(version, agent.socket(), extra);
    }

    /** ADD's printed result, as the runtime caches it and passes it back as prevResult. */
    String added(String id, String version) {
        Plugin.Outcome out = Plugin.run(Plugin.env("ADD", id), config(version, ""));
        assertEquals(0, out.exit(), out.toString());
        return out.stdout().strip();
    }

    @Test
    void delRemovesTheEndpointAndSucceedsWhenRepeated() {
        added("c1", "1.1.0");
        for (int i = 0; i < 2; i++) {
            Plugin.Outcome out = Plugin.run(Plugin.env("DEL", "c1"), config("1.1.0", ""));
            assertEquals(0, out.exit(), out.toString());
            assertEquals("", out.stdout());
        }
        assertEquals(List.of("PUT /v1/endpoints", "DELETE /v1/endpoints/c1/eth0", "DELETE /v1/endpoints/c1/eth0"),
                agent.calls());
    }

    @Test
    void delSucceedsWithoutNetnsOrPrevResultOrAnyState() {
        Map<String, String> env = Plugin.env("DEL", "gone");
        env.remove("CNI_NETNS");
        env.remove("CNI_PATH");
        assertEquals(0, Plugin.run(env, config("0.3.0", "")).exit());
        env.put("CNI_NETNS", "/var/run/netns/long-gone");
        assertEquals(0, Plugin.run(env, config("1.0.0", "\"prevResult\":{\"cniVersion\":\"1.0.0\"}")).exit());
        agent.fail("DELETE", 404, "no endpoint");
        assertEquals(0, Plugin.run(env, config("1.1.0", "")).exit(), "404 on DELETE is gone already");
    }

    @Test
    void delWithTheAgentDownIsTryAgainLater() {
        Plugin.Outcome out = Plugin.run(Plugin.env("DEL", "c1"), Plugin.config("1.1.0", dir.resolve("down.sock"), ""));
        assertEquals(11, out.code());
        agent.fail("DELETE", 500, "disk full");
        assertEquals(999, Plugin.run(Plugin.env("DEL", "c1"), config("1.1.0", "")).code());
    }

    @Test
    void checkPassesAfterAddInEveryVersionThatHasIt() {
        for (String version : List.of("0.4.0", "1.0.0", "1.1.0")) {
            String id = "c" + version.replace(".", "");
            String prev = added(id, version);
            Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", id), config(version, "\"prevResult\":" + prev));
            assertEquals(0, out.exit(), out.toString());
            assertEquals("", out.stdout());
        }
        assertTrue(agent.calls().containsAll(List.of("GET /v1/endpoints/c110/eth0", "POST /v1/endpoints/c110/eth0/check")));
    }

    @Test
    void checkNeedsPrevResultAndVersion040() {
        Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", "c1"), config("1.0.0", ""));
        assertEquals(7, out.code());
        assertTrue(out.msg().contains("prevResult"), out.msg());
        String prev = added("c1", "0.3.1");
        out = Plugin.run(Plugin.env("CHECK", "c1"), config("0.3.1", "\"prevResult\":" + prev));
        assertEquals(1, out.code());
        assertEquals("config version does not allow CHECK", out.msg());
    }

    @Test
    void checkOfAContainerTheAgentDoesNotKnowIsError3() {
        String prev = added("c1", "1.0.0");
        Plugin.run(Plugin.env("DEL", "c1"), config("1.0.0", ""));
        Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", "c1"), config("1.0.0", "\"prevResult\":" + prev));
        assertEquals(3, out.code(), out.toString());
    }

    @Test
    void checkFindsDifferences() {
        String prev = added("c1", "1.1.0");
        // The agent's view differs from prevResult.
        agent.endpoint("c1", "eth0").put("address", "10.244.1.99/24");
        Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", "c1"), config("1.1.0", "\"prevResult\":" + prev));
        assertEquals(102, out.code(), out.toString());
        assertTrue(out.json().get("details").asText().contains("10.244.1.99/24"), out.stdout());
        agent.endpoint("c1", "eth0").put("address", "10.244.1.2/24");
        agent.endpoint("c1", "eth0").put("mac", "02:00:00:00:02:ff");
        assertEquals(102, Plugin.run(Plugin.env("CHECK", "c1"), config("1.1.0", "\"prevResult\":" + prev)).code());
        agent.endpoint("c1", "eth0").put("mac", "02:00:00:00:02:01");
        assertEquals(0, Plugin.run(Plugin.env("CHECK", "c1"), config("1.1.0", "\"prevResult\":" + prev)).exit());
        // The agent's own check (veth, routes, datapath in the namespace) finds something.
        agent.fail("POST /v1/endpoints/c1/eth0/check", 409, "route 0.0.0.0/0 missing");
        out = Plugin.run(Plugin.env("CHECK", "c1"), config("1.1.0", "\"prevResult\":" + prev));
        assertEquals(102, out.code());
        assertTrue(out.json().get("details").asText().contains("route 0.0.0.0/0 missing"), out.stdout());
    }

    @Test
    void checkNeedsOurInterfaceInPrevResult() {
        added("c1", "1.1.0");
        String prev = "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/other/ns\"}],"
                + "\"ips\":[{\"interface\":0,\"address\":\"10.244.1.2/24\"}]}";
        Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", "c1"), config("1.1.0", "\"prevResult\":" + prev));
        assertEquals(102, out.code());
        assertTrue(out.msg().contains("no interface eth0"), out.msg());
    }

    @Test
    void checkWithTheAgentDownIsTryAgainLater() {
        String prev = added("c1", "1.1.0");
        Plugin.Outcome out = Plugin.run(Plugin.env("CHECK", "c1"),
                Plugin.config("1.1.0", dir.resolve("down.sock"), "\"prevResult\":" + prev));
        assertEquals(11, out.code());
    }
}
