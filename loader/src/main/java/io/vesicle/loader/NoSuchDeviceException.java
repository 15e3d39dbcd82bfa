package io.vesicle.loader;

/** A network device that does not exist in the namespace asked (ENODEV). */
public final class NoSuchDeviceException extends NativeException {
    public NoSuchDeviceException(String message) {
        super(message, Errors.ENODEV);
    }
}
