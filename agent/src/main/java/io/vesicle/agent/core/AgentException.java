package io.vesicle.agent.core;

/**
 * A request the agent refuses or cannot carry out, with why in domain terms. The API is the only
 * place that turns a {@link Reason} into an HTTP status; anything else thrown is an internal failure.
 */
public final class AgentException extends RuntimeException {
    /** Why a request failed. */
    public enum Reason {
        /** A field is malformed or not allowed; {@link #field()} names it. */
        INVALID,
        /** The thing named does not exist (an endpoint, a namespace path). */
        NOT_FOUND,
        /** It clashes with what exists (an endpoint, an interface, an address, a route). */
        CONFLICT,
        /** No address is left in the pool. */
        EXHAUSTED,
        /** The agent cannot do it now (not ready, stopping, or the work did not finish in time). */
        UNAVAILABLE
    }

    private final Reason reason;
    private final String field;

    public AgentException(Reason reason, String field, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.field = field;
    }

    public Reason reason() {
        return reason;
    }

    /** The request field at fault, or null. */
    public String field() {
        return field;
    }

    public static AgentException invalid(String field, String message) {
        return new AgentException(Reason.INVALID, field, message, null);
    }

    public static AgentException notFound(String field, String message) {
        return new AgentException(Reason.NOT_FOUND, field, message, null);
    }

    public static AgentException conflict(String message) {
        return new AgentException(Reason.CONFLICT, null, message, null);
    }

    public static AgentException conflict(String message, Throwable cause) {
        return new AgentException(Reason.CONFLICT, null, message, cause);
    }

    public static AgentException exhausted(String message) {
        return new AgentException(Reason.EXHAUSTED, null, message, null);
    }

    public static AgentException unavailable(String message) {
        return new AgentException(Reason.UNAVAILABLE, null, message, null);
    }
}
