package io.vesicle.agent.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vesicle.agent.util.Throwables;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API's resources: a request routed by method and path, its body checked and decoded, handed
 * to an {@link Api}, and the result or failure as a status and a JSON body. No transport here.
 */
final class ApiRoutes {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private final Api api;

    ApiRoutes(Api api) {
        this.api = Objects.requireNonNull(api, "api");
    }

    record Answer(int status, byte[] body) {
        static Answer error(int status, String reason) {
            return new Answer(status, ApiRoutes.error(reason));
        }

        /** The error of a failed answer, for the log. */
        String reason() {
            try {
                return AgentClient.JSON.readTree(body).path("error").asText();
            } catch (IOException e) {
                return "";
            }
        }
    }

    /** Routes, decodes and runs one request; never throws. */
    Answer handle(String method, String path, byte[] body) {
        try {
            return new Answer(200, json(route(method, path, body)));
        } catch (ApiFailure f) {
            return new Answer(f.status(), json(new Messages.ApiError(f.getMessage(), f.field())));
        } catch (Unavailable u) {
            return new Answer(503, json(u.body));
        } catch (Throwable t) {
            LOG.error("api: " + method + " " + path + " failed: " + Throwables.describe(t));
            return Answer.error(500, "internal error: " + Throwables.describe(t));
        }
    }

    /** A 503 with a body of its own (health). */
    private static final class Unavailable extends RuntimeException {
        final Object body;

        Unavailable(Object body) {
            super(null, null, false, false);
            this.body = body;
        }
    }

    private Object route(String method, String path, byte[] body) {
        if (!path.startsWith("/")) {
            throw ApiFailure.badRequest("request target '" + path + "' must be an absolute path");
        }
        switch (path) {
            case ApiPaths.HEALTHZ:
                allow(method, "GET");
                Messages.Health health = api.health();
                // Degraded (the cluster store away) still serves pods: 200, with the reason.
                if (!"ok".equals(health.status()) && !"degraded".equals(health.status())) {
                    Map<String, Object> unhealthy = new LinkedHashMap<>();
                    unhealthy.put("status", health.status());
                    unhealthy.put("reason", health.reason());
                    unhealthy.put("error", health.reason());
                    throw new Unavailable(unhealthy);
                }
                return health;
            case ApiPaths.STATUS:
                allow(method, "GET");
                return api.status();
            case ApiPaths.CONFIG:
                allow(method, "GET");
                return api.config();
            case ApiPaths.IPAM_ALLOCATE:
                allow(method, "POST");
                return api.allocate(StrictJson.decode(body, Messages.IpamRequest.class));
            case ApiPaths.IPAM_RELEASE:
                allow(method, "POST");
                return api.release(StrictJson.decode(body, Messages.IpamRequest.class));
            case ApiPaths.GC:
                allow(method, "POST");
                return api.gc(StrictJson.decode(body, Messages.GcRequest.class));
            case ApiPaths.MONITOR:
                throw ApiFailure.badRequest("a monitor request is a GET without a body");
            case ApiPaths.EVENTS:
                allow(method, "GET");
                return api.events();
            case ApiPaths.EVENTS_CONFIG:
                allow(method, "PUT");
                return api.configureEvents(StrictJson.decode(body, Messages.EventSettings.class));
            case ApiPaths.DATAPATH_MAPS:
                allow(method, "GET");
                return api.datapathMaps();
            case ApiPaths.DATAPATH_METRICS:
                allow(method, "GET");
                return api.datapathMetrics();
            case ApiPaths.IDENTITIES:
                allow(method, "GET");
                return api.identities();
            case ApiPaths.IPCACHE:
                allow(method, "GET");
                return api.ipcache();
            case ApiPaths.ENDPOINTS:
                allow(method, "GET", "PUT");
                if (method.equals("GET")) {
                    return api.endpoints();
                }
                return api.createEndpoint(StrictJson.decode(body, Messages.CreateEndpoint.class));
            default:
                break;
        }
        String mapPrefix = ApiPaths.DATAPATH_MAPS + "/";
        if (path.startsWith(mapPrefix) && path.indexOf('/', mapPrefix.length()) < 0) {
            allow(method, "GET");
            return api.datapathMap(decodeSegment(path.substring(mapPrefix.length()), "map name"));
        }
        String prefix = ApiPaths.ENDPOINTS + "/";
        if (path.startsWith(prefix)) {
            List<String> segments = List.of(path.substring(prefix.length()).split("/", -1));
            if (segments.size() == 2 || (segments.size() == 3 && segments.get(2).equals("check"))) {
                String containerID = decodeSegment(segments.get(0), "containerID");
                String ifname = decodeSegment(segments.get(1), "ifname");
                if (segments.size() == 3) {
                    allow(method, "POST");
                    return api.checkEndpoint(containerID, ifname);
                }
                allow(method, "GET", "DELETE");
                return method.equals("GET") ? api.endpoint(containerID, ifname)
                        : api.deleteEndpoint(containerID, ifname);
            }
        }
        throw ApiFailure.notFound("no such resource: " + path);
    }

    private static void allow(String method, String... allowed) {
        for (String a : allowed) {
            if (a.equals(method)) {
                return;
            }
        }
        throw new ApiFailure(405, "method " + method + " is not allowed here (allowed: " + String.join(", ", allowed) + ")");
    }

    /** A path segment with %XX escapes decoded; empty or undecodable segments are refused. */
    static String decodeSegment(String segment, String name) {
        if (segment.isEmpty()) {
            throw ApiFailure.badRequest(name + " is missing from the path");
        }
        if (segment.indexOf('%') < 0) {
            return segment;
        }
        byte[] bytes = new byte[segment.length()];
        int n = 0;
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c == '%') {
                if (i + 2 >= segment.length() || Character.digit(segment.charAt(i + 1), 16) < 0
                        || Character.digit(segment.charAt(i + 2), 16) < 0) {
                    throw ApiFailure.badRequest(name + " '" + segment + "' has a bad % escape");
                }
                bytes[n++] = (byte) Integer.parseInt(segment.substring(i + 1, i + 3), 16);
                i += 2;
            } else {
                bytes[n++] = (byte) c;
            }
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    private static byte[] json(Object value) {
        try {
            return AgentClient.JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode an answer: " + e.getMessage(), e);
        }
    }

    static byte[] error(String reason) {
        return json(new Messages.ApiError(reason == null ? "unknown error" : reason));
    }
}
