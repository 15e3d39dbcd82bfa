package io.vesicle.loader;

/** The map holds no such key (ENOENT). */
public final class KeyNotFoundException extends NativeException {
    public KeyNotFoundException(String message) {
        super(message, Errors.ENOENT);
    }
}
