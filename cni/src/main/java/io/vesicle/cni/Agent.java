package io.vesicle.cni;

import io.vesicle.api.AgentClient.ApiException;
import io.vesicle.api.AgentConnection;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Http;
import io.vesicle.api.Messages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's API (docs/api.md) as the plugin calls it: the same paths, messages, connection
 * ({@link AgentConnection}) and exceptions as {@link io.vesicle.api.AgentClient}, with the plugin's
 * small JSON codec instead of Jackson so that a call costs a few milliseconds of a fresh JVM
 * (AgentClientContractTest keeps both encodings equal).
 */
final class Agent {
    private final AgentConnection connection;

    Agent(Path socket, Duration timeout) {
        this.connection = new AgentConnection(socket, timeout);
    }

    Path socket() {
        return connection.socket();
    }

    Messages.Health health() {
        Map<String, Object> m = call("GET", ApiPaths.HEALTHZ, null);
        return new Messages.Health(str(m, "status"), str(m, "reason"));
    }

    Messages.Endpoint createEndpoint(Messages.CreateEndpoint request) {
        Map<String, Object> body = new LinkedHashMap<>();
        putIfSet(body, "containerID", request.containerID());
        putIfSet(body, "ifname", request.ifname());
        putIfSet(body, "netns", request.netns());
        putIfSet(body, "podNamespace", request.podNamespace());
        putIfSet(body, "podName", request.podName());
        putIfSet(body, "address", request.address());
        putIfSet(body, "gateway", request.gateway());
        putIfSet(body, "network", request.network());
        return endpoint(call("PUT", ApiPaths.ENDPOINTS, body));
    }

    /** The endpoint, or null when the agent has none (404). */
    Messages.Endpoint endpoint(String containerID, String ifname) {
        try {
            return endpoint(call("GET", ApiPaths.endpoint(containerID, ifname), null));
        } catch (ApiException e) {
            if (e.status() == 404) {
                return null;
            }
            throw e;
        }
    }

    Messages.Deleted deleteEndpoint(String containerID, String ifname) {
        Map<String, Object> m = call("DELETE", ApiPaths.endpoint(containerID, ifname), null);
        return new Messages.Deleted(bool(m, "deleted"));
    }

    /** Throws ApiException 409 naming what differs, 404 when the endpoint is unknown. */
    Messages.CheckResult checkEndpoint(String containerID, String ifname) {
        Map<String, Object> m = call("POST", ApiPaths.endpoint(containerID, ifname) + "/check", null);
        return new Messages.CheckResult(bool(m, "ok"));
    }

    Messages.GcResult gc(Messages.GcRequest request) {
        List<Object> valid = new ArrayList<>();
        for (Messages.Attachment a : request.valid()) {
            valid.add(attachment(a));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("valid", valid);
        putIfSet(body, "network", request.network());
        Map<String, Object> m = call("POST", ApiPaths.GC, body);
        List<Messages.Attachment> removed = new ArrayList<>();
        Object list = m.get("removed");
        if (list instanceof List) {
            for (Object o : (List<?>) list) {
                if (o instanceof Map) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> a = (Map<String, Object>) o;
                    removed.add(new Messages.Attachment(str(a, "containerID"), str(a, "ifname")));
                }
            }
        }
        return new Messages.GcResult(removed, List.of());
    }

    static Map<String, Object> attachment(Messages.Attachment a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("containerID", a.containerID());
        m.put("ifname", a.ifname());
        return m;
    }

    static Messages.Endpoint endpoint(Map<String, Object> m) {
        return new Messages.Endpoint(integer(m, "id"), str(m, "containerID"), str(m, "ifname"), str(m, "netns"),
                str(m, "podNamespace"), str(m, "podName"), str(m, "hostIf"), str(m, "hostMac"), str(m, "mac"),
                str(m, "address"), str(m, "gateway"), integer(m, "mtu"), bool(m, "ipamOwned"), str(m, "network"),
                str(m, "state"));
    }

    /** One request and its answer as a JSON object; error statuses become ApiException. */
    Map<String, Object> call(String method, String path, Object body) {
        byte[] payload = body == null ? new byte[0] : Json.write(body).getBytes(StandardCharsets.UTF_8);
        Http.Response response = connection.exchange(method, path, payload);
        Object answer;
        try {
            answer = response.body().length == 0 ? null
                    : Json.parse(new String(response.body(), StandardCharsets.UTF_8));
        } catch (Json.ParseException e) {
            answer = e;
        }
        if (response.status() >= 400) {
            Object reason = answer instanceof Map ? ((Map<?, ?>) answer).get("error") : null;
            Object field = answer instanceof Map ? ((Map<?, ?>) answer).get("field") : null;
            throw new ApiException(response.status(), reason instanceof String ? (String) reason
                    : new String(response.body(), StandardCharsets.UTF_8), field instanceof String ? (String) field : null);
        }
        if (answer instanceof Map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> object = (Map<String, Object>) answer;
            return object;
        }
        throw new ApiException(502, "undecodable answer to " + method + " " + path + ": "
                + (answer instanceof Json.ParseException ? ((Json.ParseException) answer).getMessage()
                : "expected a JSON object"));
    }

    private static void putIfSet(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    private static String str(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof String ? (String) v : null;
    }

    private static int integer(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof Long ? (int) (long) (Long) v : 0;
    }

    private static boolean bool(Map<String, Object> m, String key) {
        return Boolean.TRUE.equals(m.get(key));
    }
}
