package io.vesicle.agent.api;

/**
 * A request the agent refuses or cannot carry out, with the HTTP status to answer and a reason
 * naming the field or the object at fault. Anything else a handler throws is answered 500.
 */
public final class ApiFailure extends RuntimeException {
    private final int status;

    public ApiFailure(int status, String reason) {
        super(reason);
        this.status = status;
    }

    public ApiFailure(int status, String reason, Throwable cause) {
        super(reason, cause);
        this.status = status;
    }

    public int status() {
        return status;
    }

    public static ApiFailure badRequest(String reason) {
        return new ApiFailure(400, reason);
    }

    public static ApiFailure notFound(String reason) {
        return new ApiFailure(404, reason);
    }

    public static ApiFailure conflict(String reason) {
        return new ApiFailure(409, reason);
    }

    public static ApiFailure unavailable(String reason) {
        return new ApiFailure(503, reason);
    }

    public static ApiFailure exhausted(String reason) {
        return new ApiFailure(507, reason);
    }
}
