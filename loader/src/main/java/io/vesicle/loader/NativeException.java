package io.vesicle.loader;

/**
 * A failed native call: keeps the errno and says which operation on which object failed.
 * Subclasses name the errors callers act on.
 */
public class NativeException extends RuntimeException {
    private final int errno;

    public NativeException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }
}
