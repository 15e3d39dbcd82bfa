package io.vesicle.agent.api;

/**
 * A request the agent refuses or cannot carry out, with the HTTP status to answer and a reason
 * naming the field or the object at fault. Anything else a handler throws is answered 500.
 */
public final class ApiFailure extends RuntimeException {
    private final int status;
    private final String field;

    public ApiFailure(int status, String reason) {
        this(status, reason, null, null);
    }

    public ApiFailure(int status, String reason, Throwable cause) {
        this(status, reason, null, cause);
    }

    public ApiFailure(int status, String reason, String field, Throwable cause) {
        super(reason, cause);
        this.status = status;
        this.field = field;
    }

    public int status() {
        return status;
    }

    /** The request field at fault (answered as {@code "field"}), or null. */
    public String field() {
        return field;
    }

    /** A 400 naming the field at fault. */
    public static ApiFailure invalid(String field, String reason) {
        return new ApiFailure(400, reason, field, null);
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
