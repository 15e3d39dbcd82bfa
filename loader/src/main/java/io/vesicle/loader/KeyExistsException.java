package io.vesicle.loader;

/** The key is already present and the update asked for a new one (EEXIST). */
public final class KeyExistsException extends NativeException {
    public KeyExistsException(String message) {
        super(message, Errors.EEXIST);
    }
}
