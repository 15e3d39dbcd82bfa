package io.vesicle.loader;

import java.nio.file.Path;
import java.util.List;

/**
 * Maps pinned under a pin root are not what the object declares (type, sizes, max entries,
 * flags, or BTF key and value types by name; a map pinned without BTF never matches), so the load
 * was refused before anything was created or pinned. Its errno is EINVAL, libbpf's for a pinned
 * map it cannot reuse.
 */
public final class PinnedMapMismatchException extends NativeException {
    /** One pinned map that differs: what the object expects and what the pin holds. */
    public record Mismatch(Path pin, String map, String expected, String found) {
        @Override
        public String toString() {
            return "map " + map + " pinned at " + pin + ": expected " + expected + ", found " + found;
        }
    }

    private final List<Mismatch> mismatches;

    PinnedMapMismatchException(String what, List<Mismatch> mismatches) {
        super(what + ": " + String.join("; ", mismatches.stream().map(Mismatch::toString).toList())
                + " (nothing pinned was changed)", Errors.EINVAL);
        this.mismatches = List.copyOf(mismatches);
    }

    public List<Mismatch> mismatches() {
        return mismatches;
    }
}
