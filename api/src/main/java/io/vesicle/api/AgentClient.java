package io.vesicle.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vesicle.api.Messages.ApiError;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The agent's API as the CLI and the tests call it, with Jackson: one {@link AgentConnection}
 * exchange per call.
 */
public final class AgentClient {
    /** Shared by the client and the server: unknown members are tolerated for compatibility. */
    public static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final AgentConnection connection;

    public AgentClient(Path socket, Duration timeout) {
        this.connection = new AgentConnection(socket, timeout);
    }

    /** The agent could not be reached (not running, socket missing, no answer in time). */
    public static final class UnavailableException extends RuntimeException {
        private final boolean connected;

        public UnavailableException(String message, Throwable cause, boolean connected) {
            super(message, cause);
            this.connected = connected;
        }

        /** Whether the call got a connection: then the agent may have acted on the request. */
        public boolean connected() {
            return connected;
        }
    }

    /** The agent answered with an error status; the message is its reason. */
    public static final class ApiException extends RuntimeException {
        private final int status;
        private final String field;

        public ApiException(int status, String message) {
            this(status, message, null);
        }

        public ApiException(int status, String message, String field) {
            super(message);
            this.status = status;
            this.field = field;
        }

        public int status() {
            return status;
        }

        /** The request field the agent named as at fault, or null. */
        public String field() {
            return field;
        }
    }

    public Messages.Health health() {
        return call("GET", ApiPaths.HEALTHZ, null, Messages.Health.class);
    }

    public Messages.NodeConfig config() {
        return call("GET", ApiPaths.CONFIG, null, Messages.NodeConfig.class);
    }

    public Messages.IpamAllocation allocate(Messages.IpamRequest request) {
        return call("POST", ApiPaths.IPAM_ALLOCATE, request, Messages.IpamAllocation.class);
    }

    public Messages.IpamRelease release(Messages.IpamRequest request) {
        return call("POST", ApiPaths.IPAM_RELEASE, request, Messages.IpamRelease.class);
    }

    public Messages.Endpoint createEndpoint(Messages.CreateEndpoint request) {
        return call("PUT", ApiPaths.ENDPOINTS, request, Messages.Endpoint.class);
    }

    public Optional<Messages.Endpoint> endpoint(String containerID, String ifname) {
        try {
            return Optional.of(call("GET", ApiPaths.endpoint(containerID, ifname), null, Messages.Endpoint.class));
        } catch (ApiException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    public List<Messages.Endpoint> endpoints() {
        return List.of(call("GET", ApiPaths.ENDPOINTS, null, Messages.Endpoint[].class));
    }

    public Messages.Deleted deleteEndpoint(String containerID, String ifname) {
        return call("DELETE", ApiPaths.endpoint(containerID, ifname), null, Messages.Deleted.class);
    }

    /** Throws ApiException (409) naming what differs. */
    public Messages.CheckResult checkEndpoint(String containerID, String ifname) {
        return call("POST", ApiPaths.endpoint(containerID, ifname) + "/check", null, Messages.CheckResult.class);
    }

    public Messages.GcResult gc(Messages.GcRequest request) {
        return call("POST", ApiPaths.GC, request, Messages.GcResult.class);
    }

    public Messages.EventsStatus events() {
        return call("GET", ApiPaths.EVENTS, null, Messages.EventsStatus.class);
    }

    public Messages.EventsStatus configureEvents(Messages.EventSettings settings) {
        return call("PUT", ApiPaths.EVENTS_CONFIG, settings, Messages.EventsStatus.class);
    }

    /**
     * Subscribes to the datapath's events: GET /v1/monitor with query (e.g. "type=drop&port=53",
     * already encoded; empty for all). Returns once the agent has subscribed, so events from then on
     * arrive; error statuses become ApiException.
     */
    public MonitorStream monitor(String query) {
        String path = ApiPaths.MONITOR + (query == null || query.isEmpty() ? "" : "?" + query);
        AgentConnection.Stream stream = connection.stream("GET", path);
        if (stream.status() >= 400) {
            try (stream) {
                throw apiException(stream.status(), stream.body().readAllBytes());
            } catch (IOException e) {
                throw new ApiException(stream.status(), "GET " + path + " failed and its answer was unreadable");
            }
        }
        return new MonitorStream(stream);
    }

    /** Lines of a monitor stream, decoded; close() ends it (from any thread). */
    public static final class MonitorStream implements AutoCloseable {
        private final AgentConnection.Stream stream;
        private final java.io.BufferedReader lines;

        MonitorStream(AgentConnection.Stream stream) {
            this.stream = stream;
            this.lines = new java.io.BufferedReader(new java.io.InputStreamReader(stream.body(),
                    java.nio.charset.StandardCharsets.UTF_8));
        }

        /**
         * The next line (events, "lost" and "heartbeat" lines alike), blocking until one comes; null
         * when the agent ended the stream.
         *
         * @throws UnavailableException when the connection broke (or was closed)
         */
        public Messages.MonitorEvent next() {
            try {
                String line = lines.readLine();
                while (line != null && line.isBlank()) {
                    line = lines.readLine();
                }
                return line == null ? null : JSON.readValue(line, Messages.MonitorEvent.class);
            } catch (IOException e) {
                throw new UnavailableException("the monitor stream broke: " + e.getMessage(), e, true);
            }
        }

        @Override
        public void close() {
            stream.close();
        }
    }

    private static ApiException apiException(int status, byte[] body) {
        ApiError error;
        try {
            error = JSON.readValue(body, ApiError.class);
        } catch (IOException e) {
            error = new ApiError(new String(body, java.nio.charset.StandardCharsets.UTF_8));
        }
        return new ApiException(status, error.error(), error.field());
    }

    /** One request and its answer decoded as type; error statuses become ApiException. */
    public <T> T call(String method, String path, Object body, Class<T> type) {
        Http.Response response = exchange(method, path, body);
        try {
            if (response.status() >= 400) {
                throw apiException(response.status(), response.body());
            }
            return JSON.readValue(response.body(), type);
        } catch (IOException e) {
            throw new ApiException(502, "undecodable answer to " + method + " " + path + ": " + e.getMessage());
        }
    }

    private Http.Response exchange(String method, String path, Object body) {
        byte[] payload;
        try {
            payload = body == null ? new byte[0] : JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode " + body, e);
        }
        return connection.exchange(method, path, payload);
    }
}
