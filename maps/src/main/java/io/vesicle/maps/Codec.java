package io.vesicle.maps;

import java.nio.ByteBuffer;

/**
 * Fixed-layout encoding of one C struct, in native byte order, at an absolute offset of a buffer
 * (so batches of records can share one buffer). {@link #layout()} states the C layout the codec
 * was written for; a test checks it against the object's BTF.
 */
public interface Codec<T> {
    StructLayout layout();

    default int size() {
        return layout().size();
    }

    void write(T value, ByteBuffer buffer, int offset);

    T read(ByteBuffer buffer, int offset);
}
