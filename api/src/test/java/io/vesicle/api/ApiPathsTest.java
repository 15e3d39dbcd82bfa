package io.vesicle.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ApiPathsTest {
    @Test
    void cniNamesGoInAsTheyAre() {
        assertEquals("/v1/endpoints/0a1b-c_d.e/eth0", ApiPaths.endpoint("0a1b-c_d.e", "eth0"));
    }

    @Test
    void charactersThatWouldCutOrBendThePathArePercentEncoded() {
        assertEquals("/v1/endpoints/abc/eth%3F1", ApiPaths.endpoint("abc", "eth?1"));
        assertEquals("/v1/endpoints/abc/eth%231", ApiPaths.endpoint("abc", "eth#1"));
        assertEquals("/v1/endpoints/abc/eth%25d", ApiPaths.endpoint("abc", "eth%d"));
        assertEquals("/v1/endpoints/abc/a%2Fb", ApiPaths.endpoint("abc", "a/b"));
        assertEquals("/v1/endpoints/abc/a%20b", ApiPaths.endpoint("abc", "a b"));
        assertEquals("/v1/endpoints/a%2F..%2Fb/eth0", ApiPaths.endpoint("a/../b", "eth0"));
    }

    @Test
    void nonAsciiIsEncodedAsUtf8Bytes() {
        assertEquals("/v1/endpoints/abc/%C3%A9th0", ApiPaths.endpoint("abc", "\u00e9th0"));
        assertEquals("/v1/endpoints/abc/eth%000", ApiPaths.endpoint("abc", "eth\u00000"));
    }
}
