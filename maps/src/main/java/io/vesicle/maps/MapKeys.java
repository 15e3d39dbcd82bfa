package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Key iteration with BPF_MAP_GET_NEXT_KEY, shared by the typed views. */
final class MapKeys {
    private MapKeys() {
    }

    /** A snapshot of map's keys; concurrent deletes may end an iteration early, as in the kernel. */
    static <K> List<K> snapshot(BpfMap map, Codec<K> keys) {
        List<K> result = new ArrayList<>();
        ByteBuffer current = TypedMap.direct(map.keySize());
        ByteBuffer next = TypedMap.direct(map.keySize());
        boolean first = true;
        while (map.nextKey(first ? null : current, next)) {
            result.add(keys.read(next, 0));
            ByteBuffer swap = current;
            current = next;
            next = swap;
            first = false;
        }
        return result;
    }
}
