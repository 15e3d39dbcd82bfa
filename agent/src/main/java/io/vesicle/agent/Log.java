package io.vesicle.agent;

import java.io.PrintStream;
import java.time.Instant;

/** One line per event on standard error: time, level, message. The agent's only log. */
public final class Log {
    private static volatile PrintStream out = System.err;

    private Log() {
    }

    /** Where lines go (tests capture them). */
    public static void to(PrintStream stream) {
        out = stream;
    }

    public static void info(String message) {
        write("INFO", message);
    }

    public static void warn(String message) {
        write("WARN", message);
    }

    public static void error(String message, Throwable cause) {
        write("ERROR", message + (cause == null ? "" : ": " + describe(cause)));
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

    private static void write(String level, String message) {
        out.println(Instant.now() + " " + level + " " + message);
    }
}
