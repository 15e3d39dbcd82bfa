package io.vesicle.maps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * bpf/include/metrics.h is the one list of reasons: the enum here must name every code of its
 * {@code enum metric_reason} and nothing else (UNKNOWN aside), under the C name without its
 * REASON_/DROP_ prefix. The header is read from the source tree (the surefire working directory
 * is this module's).
 */
class ReasonTest {
    static final Path HEADER = Path.of("..", "bpf", "include", "metrics.h");
    /** An enumerator with an explicit value, e.g. {@code DROP_TRUNCATED = 132,}. */
    static final Pattern ENUMERATOR = Pattern.compile("^\\s*(REASON|DROP)_([A-Z0-9_]+)\\s*=\\s*(\\d+)\\s*,",
            Pattern.MULTILINE);

    static Map<String, Integer> fromHeader() throws IOException {
        String text = Files.readString(HEADER);
        int start = text.indexOf("enum metric_reason {");
        int end = text.indexOf("};", start);
        assertFalse(start < 0 || end < 0, "enum metric_reason not found in " + HEADER.toAbsolutePath());
        Map<String, Integer> codes = new TreeMap<>();
        Matcher m = ENUMERATOR.matcher(text.substring(start, end));
        while (m.find()) {
            if (!m.group(2).equals("REASON_MIN")) { // DROP_REASON_MIN marks where drops start
                codes.put(m.group(2), Integer.parseInt(m.group(3)));
            }
        }
        return codes;
    }

    @Test
    void enumMatchesTheHeader() throws IOException {
        Map<String, Integer> java = Arrays.stream(Reason.values()).filter(r -> r != Reason.UNKNOWN)
                .collect(Collectors.toMap(Reason::name, Reason::code, (a, b) -> a, TreeMap::new));

        assertEquals(fromHeader(), java);
    }

    @Test
    void dropsStartWhereTheHeaderSays() throws IOException {
        Matcher m = Pattern.compile("DROP_REASON_MIN\\s*=\\s*(\\d+)").matcher(Files.readString(HEADER));
        assertFalse(!m.find(), "DROP_REASON_MIN not found");
        assertEquals(Integer.parseInt(m.group(1)), Reason.DROP_MIN);
        for (Map.Entry<String, Integer> e : fromHeader().entrySet()) {
            assertEquals(e.getValue() >= Reason.DROP_MIN, Reason.valueOf(e.getKey()).isDrop(), e.getKey());
        }
    }

    @Test
    void labelsAreTheLowerCaseNames() {
        for (Reason r : Reason.values()) {
            assertEquals(r.name().toLowerCase(java.util.Locale.ROOT), r.label());
        }
    }
}
