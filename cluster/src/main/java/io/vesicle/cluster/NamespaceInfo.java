package io.vesicle.cluster;

import java.util.Map;
import java.util.Objects;

/** A namespace and its labels. */
public record NamespaceInfo(String name, Map<String, String> labels) {
    public NamespaceInfo {
        Objects.requireNonNull(name, "name");
        labels = Map.copyOf(labels == null ? Map.of() : labels);
    }
}
