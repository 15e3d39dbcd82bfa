package io.vesicle.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failed operation as the CNI spec reports it: {@code {cniVersion, code, msg, details}} on
 * stdout and a non-zero exit. Codes below 100 are the spec's; 100 and up are Vesicle's (README,
 * "CNI error codes").
 */
final class CniError extends Exception {
    private static final long serialVersionUID = 1L;

    // The spec's well-known codes.
    static final int INCOMPATIBLE_VERSION = 1;
    static final int UNSUPPORTED_FIELD = 2;
    static final int UNKNOWN_CONTAINER = 3;
    static final int INVALID_ENVIRONMENT = 4;
    static final int IO_FAILURE = 5;
    static final int DECODING_FAILURE = 6;
    static final int INVALID_CONFIG = 7;
    static final int TRY_AGAIN_LATER = 11;
    static final int NOT_AVAILABLE = 50;

    // Vesicle's own.
    /** The node's pod CIDR has no free address (agent 507). */
    static final int ADDRESSES_EXHAUSTED = 100;
    /** CNI_IFNAME already exists in the container's namespace (agent 409 on ADD). */
    static final int INTERFACE_EXISTS = 101;
    /** CHECK: the attachment differs from prevResult or from what the agent set up. */
    static final int CHECK_FAILED = 102;
    /** The agent failed (5xx) or answered something undecodable, or the plugin itself failed. */
    static final int INTERNAL = 999;

    private final int code;
    private final String msg;
    private final String details;

    CniError(int code, String msg, String details) {
        super(details == null || details.isEmpty() ? msg : msg + ": " + details);
        this.code = code;
        this.msg = msg;
        this.details = details;
    }

    CniError(int code, String msg) {
        this(code, msg, null);
    }

    int code() {
        return code;
    }

    String msg() {
        return msg;
    }

    String details() {
        return details;
    }

    /** The error document in the given spec version's shape (the same in every version). */
    Map<String, Object> toJson(String cniVersion) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("cniVersion", cniVersion);
        json.put("code", code);
        json.put("msg", msg);
        if (details != null && !details.isEmpty()) {
            json.put("details", details);
        }
        return json;
    }
}
