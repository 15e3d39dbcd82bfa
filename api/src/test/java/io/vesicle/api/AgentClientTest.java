package io.vesicle.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.AgentClient.ApiException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class AgentClientTest {
    @TempDir
    Path dir;

    UnixServer agent(int status, String body) throws IOException {
        return UnixServer.answering(dir.resolve("agent.sock"), status, body);
    }

    AgentClient client() {
        return new AgentClient(dir.resolve("agent.sock"), Duration.ofSeconds(5));
    }

    @Test
    void anErrorAnswerBecomesItsStatusAndReason() throws IOException {
        try (UnixServer server = agent(400, "{\"error\":\"netns '/x' is not a network namespace\"}")) {
            ApiException e = assertThrows(ApiException.class, () -> client().createEndpoint(
                    new Messages.CreateEndpoint("abc", "eth0", "/x", null, null, null, null)));
            assertEquals(400, e.status());
            assertEquals("netns '/x' is not a network namespace", e.getMessage());
        }
    }

    @Test
    void anErrorWithoutJsonKeepsItsBodyAsTheReason() throws IOException {
        try (UnixServer server = agent(502, "bad gateway from a proxy")) {
            ApiException e = assertThrows(ApiException.class, () -> client().health());
            assertEquals(502, e.status());
            assertEquals("bad gateway from a proxy", e.getMessage());
        }
    }

    @Test
    void anUndecodableSuccessIsAnError() throws IOException {
        try (UnixServer server = agent(200, "{\"status\": [")) {
            ApiException e = assertThrows(ApiException.class, () -> client().health());
            assertEquals(502, e.status());
            assertTrue(e.getMessage().contains("undecodable answer to GET /v1/healthz"), e.getMessage());
        }
    }

    @Test
    void aMissingEndpointIsEmptyButOtherFailuresThrow() throws IOException {
        try (UnixServer server = agent(404, "{\"error\":\"no endpoint\"}")) {
            assertFalse(client().endpoint("abc", "eth0").isPresent());
        }
        try (UnixServer server = agent(500, "{\"error\":\"netlink: EBUSY\"}")) {
            ApiException e = assertThrows(ApiException.class, () -> client().endpoint("abc", "eth0"));
            assertEquals(500, e.status());
        }
    }

    @Test
    void requestsCarryTheirPathAndOnlyTheMembersSet() throws IOException {
        try (UnixServer server = agent(200, "{\"deleted\":true}")) {
            assertTrue(client().deleteEndpoint("abc", "eth?0").deleted());
            assertEquals("DELETE", server.requests.get(0).method());
            assertEquals("/v1/endpoints/abc/eth%3F0", server.requests.get(0).path());
        }
        try (UnixServer server = agent(200, "{\"id\":1,\"containerID\":\"abc\",\"unknown\":1}")) {
            Messages.Endpoint created = client().createEndpoint(
                    new Messages.CreateEndpoint("abc", "eth0", "/var/run/netns/p", null, null, null, null));
            assertEquals(1, created.id(), "unknown members are tolerated");
            assertEquals("{\"containerID\":\"abc\",\"ifname\":\"eth0\",\"netns\":\"/var/run/netns/p\"}",
                    new String(server.requests.get(0).body(), StandardCharsets.UTF_8), "absent members are not sent");
        }
    }

    @Test
    void anAgentThatIsNotThereIsUnavailable() {
        AgentClient.UnavailableException e = assertThrows(AgentClient.UnavailableException.class,
                () -> client().health());
        assertFalse(e.connected());
    }
}
