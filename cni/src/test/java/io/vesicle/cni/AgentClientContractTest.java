package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vesicle.api.AgentClient;
import io.vesicle.api.Http;
import io.vesicle.api.Messages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin's client (own JSON codec) against the api module's AgentClient (Jackson); both send
 * through AgentConnection: the same bodies on the wire and the same messages read back, so the
 * agent cannot tell them apart.
 */
class AgentClientContractTest {
    @TempDir
    Path dir;

    @Test
    void bodiesEncodeAsJacksonEncodesTheMessages() throws Exception {
        try (AgentStub stub = new AgentStub(dir)) {
            Agent agent = new Agent(stub.socket(), Duration.ofSeconds(5));
            Messages.CreateEndpoint full = new Messages.CreateEndpoint("c1", "eth0", "/var/run/netns/x", "default",
                    "web-1", "10.99.0.7/24", "10.99.0.1");
            Messages.CreateEndpoint sparse = new Messages.CreateEndpoint("c2", "eth0", "/var/run/netns/y", null, null,
                    null, null);
            agent.createEndpoint(full);
            agent.createEndpoint(sparse);
            Messages.GcRequest gc = new Messages.GcRequest(List.of(new Messages.Attachment("c1", "eth0")));
            agent.gc(gc);
            assertEquals(AgentClient.JSON.valueToTree(full), stub.body(0));
            assertEquals(AgentClient.JSON.valueToTree(sparse), stub.body(1));
            assertEquals(AgentClient.JSON.valueToTree(gc), stub.body(2));
        }
    }

    @Test
    void answersDecodeAsJacksonDecodesThem() throws Exception {
        String text = "{\"id\":12,\"containerID\":\"abc\",\"ifname\":\"eth0\",\"netns\":\"/n\",\"podNamespace\":\"default\","
                + "\"podName\":\"web-1\",\"hostIf\":\"lxc1a2b3c4d5e6\",\"hostMac\":\"aa:aa:aa:aa:aa:aa\","
                + "\"mac\":\"bb:bb:bb:bb:bb:bb\",\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"mtu\":1450,"
                + "\"ipamOwned\":true,\"futureField\":{\"x\":1}}";
        @SuppressWarnings("unchecked")
        Map<String, Object> parsed = (Map<String, Object>) Json.parse(text);
        assertEquals(AgentClient.JSON.readValue(text, Messages.Endpoint.class), Agent.endpoint(parsed));
        String sparse = "{\"containerID\":\"abc\",\"ifname\":\"eth0\"}";
        @SuppressWarnings("unchecked")
        Map<String, Object> few = (Map<String, Object>) Json.parse(sparse);
        assertEquals(AgentClient.JSON.readValue(sparse, Messages.Endpoint.class), Agent.endpoint(few));
    }

    @Test
    void errorsAreTheSameExceptions() throws Exception {
        try (AgentStub stub = new AgentStub(dir)) {
            Agent agent = new Agent(stub.socket(), Duration.ofSeconds(5));
            AgentClient reference = new AgentClient(stub.socket(), Duration.ofSeconds(5));
            assertNull(agent.endpoint("nobody", "eth0"));
            assertEquals(reference.endpoint("nobody", "eth0"), java.util.Optional.empty());
            stub.fail("PUT", 507, "pod CIDR 10.244.1.0/24 exhausted");
            Messages.CreateEndpoint request = new Messages.CreateEndpoint("c1", "eth0", "/n", null, null, null, null);
            AgentClient.ApiException ours = org.junit.jupiter.api.Assertions.assertThrows(AgentClient.ApiException.class,
                    () -> agent.createEndpoint(request));
            AgentClient.ApiException theirs = org.junit.jupiter.api.Assertions.assertThrows(
                    AgentClient.ApiException.class, () -> reference.createEndpoint(request));
            assertEquals(theirs.status(), ours.status());
            assertEquals(theirs.getMessage(), ours.getMessage());
        }
        Agent nobody = new Agent(dir.resolve("nobody.sock"), Duration.ofSeconds(1));
        org.junit.jupiter.api.Assertions.assertThrows(AgentClient.UnavailableException.class, nobody::health);
    }

    @Test
    void undecodableAnswersAre502() throws Exception {
        FakeAgent garbage = new FakeAgent(dir.resolve("garbage.sock"),
                r -> new Http.Response(200, "not json".getBytes(StandardCharsets.UTF_8)));
        try (garbage) {
            Agent agent = new Agent(garbage.socket(), Duration.ofSeconds(5));
            AgentClient.ApiException e = org.junit.jupiter.api.Assertions.assertThrows(AgentClient.ApiException.class,
                    agent::health);
            assertEquals(502, e.status());
        }
    }
}
