package io.vesicle.agent.api;

import java.time.Duration;

/**
 * What one agent's API admits at a time (docs/api.md, "Limits"). Each bound turns an overload into
 * a fast refusal instead of memory, threads or a stalled server.
 *
 * @param maxConnections   open connections; one more is closed as soon as it is accepted
 * @param readDeadline     from accept, the whole request (head and body) must have arrived within this
 *                         time, however slowly it trickles in; else the connection is closed
 * @param workers          requests handled at once (handlers may block: netlink, files, namespaces)
 * @param queuedRequests   requests read and waiting for a worker; one more is answered 503 at once
 * @param requestTimeLimit a request not answered within this time (queue wait included) is answered
 *                         503 naming the limit; its handler may still finish
 * @param maxBodyBytes     request bodies; a larger declared length is 413 without reading the body,
 *                         a chunked body is cut off with 413 when it passes the limit
 * @param maxHeadBytes     request line and headers (413 beyond)
 * @param drain            on close, in-flight requests get this long to finish
 */
public record ApiLimits(int maxConnections, Duration readDeadline, int workers, int queuedRequests,
                        Duration requestTimeLimit, int maxBodyBytes, int maxHeadBytes, Duration drain) {
    /**
     * 2,048 connections: more than a node's parallel CNI calls and commands ever hold, and still a
     * few MiB of memory. 64 KiB bodies: a GC request listing 600 attachments; an endpoint is 1 KiB.
     * 20 s per request: answered before the plugin gives up (30 s), so the runtime sees "try again".
     */
    public static final ApiLimits DEFAULT = new ApiLimits(2048, Duration.ofSeconds(5), 16, 64,
            Duration.ofSeconds(20), 64 * 1024, 8 * 1024, Duration.ofSeconds(10));

    public ApiLimits {
        if (maxConnections < 1 || workers < 1 || queuedRequests < 0 || maxBodyBytes < 0 || maxHeadBytes < 256) {
            throw new IllegalArgumentException("bad API limits: " + maxConnections + " connections, " + workers
                    + " workers, " + queuedRequests + " queued, " + maxBodyBytes + " body bytes, " + maxHeadBytes
                    + " head bytes");
        }
        if (readDeadline.isNegative() || readDeadline.isZero() || requestTimeLimit.isNegative()
                || requestTimeLimit.isZero() || drain.isNegative()) {
            throw new IllegalArgumentException("bad API limits: read deadline " + readDeadline + ", request time limit "
                    + requestTimeLimit + ", drain " + drain + " (each must be positive)");
        }
    }

    public ApiLimits withMaxConnections(int value) {
        return new ApiLimits(value, readDeadline, workers, queuedRequests, requestTimeLimit, maxBodyBytes,
                maxHeadBytes, drain);
    }

    public ApiLimits withWorkers(int value, int queued) {
        return new ApiLimits(maxConnections, readDeadline, value, queued, requestTimeLimit, maxBodyBytes,
                maxHeadBytes, drain);
    }

    public ApiLimits withTimes(Duration read, Duration perRequest) {
        return new ApiLimits(maxConnections, read, workers, queuedRequests, perRequest, maxBodyBytes, maxHeadBytes,
                drain);
    }
}
