package io.vesicle.loader;

/** The map has reached max_entries (E2BIG on update). */
public final class MapFullException extends NativeException {
    public MapFullException(String message) {
        super(message, Errors.E2BIG);
    }
}
