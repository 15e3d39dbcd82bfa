package io.vesicle.agent.util;

/** Failures as one line, for logs and API answers. */
public final class Throwables {
    private Throwables() {
    }

    /** An exception's message, its class when it has none, and its causes. */
    public static String describe(Throwable t) {
        StringBuilder s = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (s.length() > 0) {
                s.append(" <- ");
            }
            s.append(c.getMessage() == null ? c.getClass().getName() : c.getMessage());
        }
        return s.toString();
    }
}
