package io.vesicle.loader;

import java.nio.file.Path;

/**
 * A pin root that someone other than root could change: not a directory (a symlink among
 * them), not owned by root, or writable by group or others. Whoever can write it can remove or
 * replace the pinned maps.
 */
public final class UnsafePinRootException extends RuntimeException {
    private final Path path;

    UnsafePinRootException(Path path, String problem) {
        super("pin root " + path + " is unsafe: " + problem);
        this.path = path;
    }

    public Path path() {
        return path;
    }
}
