package io.vesicle.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Http;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's API as docs/api.md describes it, kept in memory: endpoints are created, read,
 * checked, deleted and collected; any call can be made to fail with a status, to hang, or to
 * drop the connection without an answer.
 */
final class AgentStub implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    private final FakeAgent agent;
    private final Map<String, ObjectNode> endpoints = new ConcurrentHashMap<>();
    private final Map<String, Http.Response> failures = new ConcurrentHashMap<>();
    private final Map<String, Boolean> dropped = new ConcurrentHashMap<>();
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger ids = new AtomicInteger();
    private volatile String hangOn;
    private volatile String health = "{\"status\":\"ok\"}";

    AgentStub(Path dir) throws IOException {
        agent = new FakeAgent(dir.resolve("agent.sock"), this::answer);
    }

    Path socket() {
        return agent.socket();
    }

    /** Calls whose "METHOD path" starts with key answer status with {"error": reason}. */
    void fail(String key, int status, String reason) {
        failures.put(key, new Http.Response(status, ("{\"error\":\"" + reason + "\"}").getBytes(StandardCharsets.UTF_8)));
    }

    /** Calls whose "METHOD path" starts with key are read and closed without an answer. */
    void drop(String key) {
        dropped.put(key, true);
    }

    /** Calls whose "METHOD path" starts with key wait until close(). */
    void hang(String key) {
        hangOn = key;
    }

    void health(String body) {
        health = body;
    }

    /** An endpoint as if an earlier ADD had made it; returned for changes. */
    ObjectNode endpoint(String containerID, String ifname) {
        return endpoints.get(containerID + "/" + ifname);
    }

    List<Http.Request> requests() {
        return agent.requests();
    }

    List<String> calls() {
        List<String> calls = new ArrayList<>();
        for (Http.Request r : requests()) {
            calls.add(r.method() + " " + r.path());
        }
        return calls;
    }

    JsonNode body(int request) {
        try {
            return JSON.readTree(requests().get(request).body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Http.Response answer(Http.Request request) {
        String key = request.method() + " " + request.path();
        for (Map.Entry<String, Http.Response> f : failures.entrySet()) {
            if (key.startsWith(f.getKey())) {
                return f.getValue();
            }
        }
        for (String d : dropped.keySet()) {
            if (key.startsWith(d)) {
                return null;
            }
        }
        String hang = hangOn;
        if (hang != null && key.startsWith(hang)) {
            try {
                released.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }
        try {
            return route(request);
        } catch (IOException e) {
            return json(400, "{\"error\":\"" + e.getMessage().replace('"', '\'') + "\"}");
        }
    }

    private Http.Response route(Http.Request request) throws IOException {
        String path = request.path();
        String method = request.method();
        if (path.equals(ApiPaths.HEALTHZ) && method.equals("GET")) {
            return json(health.contains("\"ok\"") ? 200 : 503, health);
        }
        if (path.equals(ApiPaths.ENDPOINTS) && method.equals("PUT")) {
            ObjectNode in = (ObjectNode) JSON.readTree(request.body());
            int id = ids.incrementAndGet();
            ObjectNode ep = JSON.createObjectNode();
            ep.put("id", id);
            ep.set("containerID", in.get("containerID"));
            ep.set("ifname", in.get("ifname"));
            ep.set("netns", in.get("netns"));
            ep.set("podNamespace", in.get("podNamespace"));
            ep.set("podName", in.get("podName"));
            ep.put("hostIf", String.format("lxc%011x", id));
            ep.put("hostMac", String.format("02:00:00:00:01:%02x", id));
            ep.put("mac", String.format("02:00:00:00:02:%02x", id));
            boolean delegated = in.hasNonNull("address");
            ep.put("address", delegated ? in.get("address").asText() : "10.244.1." + (id + 1) + "/24");
            ep.put("gateway", in.hasNonNull("gateway") ? in.get("gateway").asText() : "10.244.1.1");
            ep.put("mtu", 1450);
            ep.put("ipamOwned", !delegated);
            endpoints.put(in.get("containerID").asText() + "/" + in.get("ifname").asText(), ep);
            return json(200, ep.toString());
        }
        if (path.equals(ApiPaths.GC) && method.equals("POST")) {
            JsonNode valid = JSON.readTree(request.body()).get("valid");
            List<String> keep = new ArrayList<>();
            valid.forEach(a -> keep.add(a.get("containerID").asText() + "/" + a.get("ifname").asText()));
            StringBuilder removed = new StringBuilder("{\"removed\":[");
            for (String key : new ArrayList<>(endpoints.keySet())) {
                if (!keep.contains(key)) {
                    endpoints.remove(key);
                    String[] parts = key.split("/");
                    removed.append(removed.charAt(removed.length() - 1) == '[' ? "" : ",")
                            .append("{\"containerID\":\"").append(parts[0]).append("\",\"ifname\":\"")
                            .append(parts[1]).append("\"}");
                }
            }
            return json(200, removed.append("]}").toString());
        }
        if (path.startsWith(ApiPaths.ENDPOINTS + "/")) {
            String[] parts = path.substring(ApiPaths.ENDPOINTS.length() + 1).split("/");
            String key = parts[0] + "/" + parts[1];
            ObjectNode ep = endpoints.get(key);
            if (method.equals("DELETE")) {
                return json(200, "{\"deleted\":" + (endpoints.remove(key) != null) + "}");
            }
            if (ep == null) {
                return json(404, "{\"error\":\"no endpoint " + key + "\"}");
            }
            if (method.equals("GET") && parts.length == 2) {
                return json(200, ep.toString());
            }
            if (method.equals("POST") && parts.length == 3 && parts[2].equals("check")) {
                return json(200, "{\"ok\":true}");
            }
        }
        return json(404, "{\"error\":\"no route " + method + " " + path + "\"}");
    }

    private static Http.Response json(int status, String body) {
        return new Http.Response(status, body.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException {
        released.countDown();
        agent.close();
    }
}
