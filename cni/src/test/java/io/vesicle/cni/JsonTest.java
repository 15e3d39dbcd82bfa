package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {
    @Test
    void parsesEveryKindOfValue() throws Exception {
        Object v = Json.parse(" {\"s\":\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\", \"i\":-12, \"big\":123456789012345678901234,"
                + " \"d\":1.5e2, \"t\":true, \"f\":false, \"n\":null, \"a\":[1,[],{}], \"o\":{\"x\":{}}}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals("a\"b\\c/d\né\uD83D\uDE00", m.get("s"));
        assertEquals(-12L, m.get("i"));
        assertEquals(new BigInteger("123456789012345678901234"), m.get("big"));
        assertEquals(new BigDecimal("1.5e2"), m.get("d"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("n"));
        assertNull(m.get("n"));
        assertEquals(List.of(1L, List.of(), Map.of()), m.get("a"));
        assertEquals(List.of("s", "i", "big", "d", "t", "f", "n", "a", "o"), List.copyOf(m.keySet()), "member order kept");
    }

    @Test
    void writesWhatItReadsAndJacksonAgrees() throws Exception {
        String text = "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"interface\":1,\"address\":\"10.0.0.2/24\"}],"
                + "\"n\":null,\"neg\":-0.5,\"big\":18446744073709551616,\"esc\":\"\\u0001\\t\\\"\",\"e\":[],\"t\":true}";
        String written = Json.write(Json.parse(text));
        assertEquals(text, written);
        ObjectMapper jackson = new ObjectMapper();
        assertEquals(jackson.readTree(text), jackson.readTree(written));
    }

    @Test
    void longsAtTheEdges() throws Exception {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(new BigInteger("9223372036854775808"), Json.parse("9223372036854775808"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "'x'",
        "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "01", "1.", "-", "1e", "tru", "nul", "{} {}",
        "\"tab\there\"", "[", "{\"a\":1"})
    void refusesWhatIsNotJson(String text) {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().contains("offset"), e.getMessage());
    }

    @Test
    void refusesDeepNestingInsteadOfOverflowingTheStack() {
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nested deeper"), e.getMessage());
        String fine = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertEquals(fine, assertDoesNotThrowParse(fine));
    }

    private static String assertDoesNotThrowParse(String text) {
        try {
            return Json.write(Json.parse(text));
        } catch (Json.ParseException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void escapesControlCharactersAndLineSeparators() {
        assertEquals("\"a\\u0000b\\u001fc\\u2028\\b\\f\\r\"", Json.write("a\u0000b\u001fc\u2028\b\f\r"));
    }
}
