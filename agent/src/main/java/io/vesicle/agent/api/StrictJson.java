package io.vesicle.agent.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.vesicle.api.AgentClient;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.List;

/**
 * Decodes request bodies into the API's records with the shared mapper, after checking that every
 * member present has the JSON type of its component: Jackson alone would turn
 * {@code "containerID": 12} into "12" or {@code "valid": "x"} into a one-element list. Unknown
 * members are tolerated, as the client tolerates them, for compatibility.
 */
final class StrictJson {
    private static final ObjectReader READER = AgentClient.JSON.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private StrictJson() {
    }

    /** @throws ApiFailure 400 naming the member at fault */
    static <T extends Record> T decode(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw ApiFailure.badRequest("a JSON object body is required");
        }
        JsonNode root;
        try {
            root = READER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiFailure.badRequest("body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiFailure.badRequest("body is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiFailure.badRequest("body must be a JSON object, not " + kind(root));
        }
        check(root, type, "");
        try {
            return AgentClient.JSON.treeToValue(root, type);
        } catch (JsonProcessingException e) {
            throw ApiFailure.badRequest("body does not decode: " + e.getOriginalMessage());
        }
    }

    private static void check(JsonNode object, Class<?> type, String prefix) {
        for (RecordComponent component : type.getRecordComponents()) {
            JsonNode value = object.get(component.getName());
            if (value != null && !value.isNull()) {
                checkValue(value, component.getGenericType(), prefix + component.getName());
            }
        }
    }

    private static void checkValue(JsonNode value, Type type, String name) {
        if (type == String.class) {
            expect(value.isTextual(), name, "a string", value);
        } else if (type == int.class || type == Integer.class) {
            expect(value.isIntegralNumber() && value.canConvertToInt(), name, "a whole number", value);
        } else if (type == boolean.class || type == Boolean.class) {
            expect(value.isBoolean(), name, "true or false", value);
        } else if (type instanceof Class<?> c && c.isRecord()) {
            expect(value.isObject(), name, "an object", value);
            check(value, c, name + ".");
        } else if (type instanceof ParameterizedType p && p.getRawType() == List.class) {
            expect(value.isArray(), name, "an array", value);
            Type element = p.getActualTypeArguments()[0];
            for (int i = 0; i < value.size(); i++) {
                if (value.get(i).isNull()) {
                    throw ApiFailure.badRequest(name + "[" + i + "] must not be null");
                }
                checkValue(value.get(i), element, name + "[" + i + "]");
            }
        }
    }

    private static void expect(boolean ok, String name, String what, JsonNode value) {
        if (!ok) {
            throw ApiFailure.badRequest(name + " must be " + what + ", not " + kind(value));
        }
    }

    static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase();
        };
    }
}
