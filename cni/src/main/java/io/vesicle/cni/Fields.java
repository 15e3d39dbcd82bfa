package io.vesicle.cni;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Typed reads of parsed JSON members. A member of the wrong type is error 7 (invalid network
 * configuration) naming it by its path ("ipam.type", "prevResult.ips[0].address"); JSON null
 * counts as absent, as it does for libcni.
 */
final class Fields {
    private Fields() {
    }

    static CniError invalid(String path, String problem) {
        return new CniError(CniError.INVALID_CONFIG, "invalid network configuration: " + path + " " + problem);
    }

    private static String child(String parent, String key) {
        return parent == null || parent.isEmpty() ? key : parent + "." + key;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object value, String path) throws CniError {
        if (!(value instanceof Map)) {
            throw invalid(path, "must be an object, not " + Json.typeName(value));
        }
        return (Map<String, Object>) value;
    }

    static Map<String, Object> optionalObject(Map<String, Object> m, String key, String parent) throws CniError {
        Object value = m.get(key);
        return value == null ? null : object(value, child(parent, key));
    }

    static String optionalString(Map<String, Object> m, String key, String parent) throws CniError {
        Object value = m.get(key);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String)) {
            throw invalid(child(parent, key), "must be a string, not " + Json.typeName(value));
        }
        return (String) value;
    }

    static String requiredString(Map<String, Object> m, String key, String parent) throws CniError {
        String value = optionalString(m, key, parent);
        if (value == null || value.isEmpty()) {
            throw invalid(child(parent, key), "is required");
        }
        return value;
    }

    static Integer optionalInt(Map<String, Object> m, String key, String parent) throws CniError {
        Object value = m.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Long && (Long) value >= Integer.MIN_VALUE && (Long) value <= Integer.MAX_VALUE) {
            return ((Long) value).intValue();
        }
        if (value instanceof Long || value instanceof BigInteger) {
            throw invalid(child(parent, key), "is out of range");
        }
        throw invalid(child(parent, key), "must be an integer, not " + Json.typeName(value));
    }

    static Boolean optionalBoolean(Map<String, Object> m, String key, String parent) throws CniError {
        Object value = m.get(key);
        if (value == null) {
            return null;
        }
        if (!(value instanceof Boolean)) {
            throw invalid(child(parent, key), "must be a boolean, not " + Json.typeName(value));
        }
        return (Boolean) value;
    }

    @SuppressWarnings("unchecked")
    static List<Object> optionalArray(Map<String, Object> m, String key, String parent) throws CniError {
        Object value = m.get(key);
        if (value == null) {
            return Collections.emptyList();
        }
        if (!(value instanceof List)) {
            throw invalid(child(parent, key), "must be an array, not " + Json.typeName(value));
        }
        return (List<Object>) value;
    }

    static List<String> optionalStrings(Map<String, Object> m, String key, String parent) throws CniError {
        List<Object> list = optionalArray(m, key, parent);
        List<String> strings = new ArrayList<>(list.size());
        for (int n = 0; n < list.size(); n++) {
            Object value = list.get(n);
            if (!(value instanceof String)) {
                throw invalid(child(parent, key) + "[" + n + "]", "must be a string, not " + Json.typeName(value));
            }
            strings.add((String) value);
        }
        return Collections.unmodifiableList(strings);
    }
}
