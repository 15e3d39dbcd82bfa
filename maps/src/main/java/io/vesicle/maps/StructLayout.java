package io.vesicle.maps;

import java.util.List;

/** A C struct's name, size and fields (byte offsets and sizes), as a codec assumes them. */
public record StructLayout(String name, int size, List<Field> fields) {
    public record Field(String name, int offset, int size) {
    }

    public static StructLayout of(String name, int size, Field... fields) {
        return new StructLayout(name, size, List.of(fields));
    }

    public static Field field(String name, int offset, int size) {
        return new Field(name, offset, size);
    }
}
