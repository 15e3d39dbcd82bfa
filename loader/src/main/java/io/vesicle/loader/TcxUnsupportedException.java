package io.vesicle.loader;

/**
 * The kernel has no tcx hooks (before 6.6): BPF_LINK_CREATE refuses their attach types (EINVAL).
 * The caller falls back to a clsact filter ({@link TcLink}).
 */
public final class TcxUnsupportedException extends NativeException {
    public TcxUnsupportedException(String message) {
        super(message, Errors.EINVAL);
    }
}
