package io.vesicle.loader;

/** An object failed to load; {@link #log()} holds libbpf's messages, the verifier log among them. */
public final class ProgramLoadException extends NativeException {
    private final String log;

    public ProgramLoadException(String message, int errno, String log) {
        super(log == null || log.isEmpty() ? message : message + "\n" + log, errno);
        this.log = log == null ? "" : log;
    }

    public String log() {
        return log;
    }
}
