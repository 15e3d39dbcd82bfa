package io.vesicle.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class HttpTest {
    static InputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    static Http.MalformedException malformedRequest(String text) {
        return assertThrows(Http.MalformedException.class, () -> Http.readRequest(stream(text)));
    }

    @Test
    void requestRoundTrips() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] body = "{\"containerID\":\"abc\"}".getBytes(StandardCharsets.UTF_8);
        Http.writeRequest(out, "PUT", "/v1/endpoints", body);

        Http.Request request = Http.readRequest(new ByteArrayInputStream(out.toByteArray()));
        assertEquals("PUT", request.method());
        assertEquals("/v1/endpoints", request.path());
        assertArrayEquals(body, request.body());
    }

    @Test
    void responseRoundTripsWithAnEmptyBody() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Http.writeResponse(out, 507, new byte[0]);

        String text = out.toString(StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("HTTP/1.1 507 Insufficient Storage\r\n"), text);
        assertTrue(text.contains("Content-Length: 0\r\n") && text.contains("Connection: close\r\n"), text);
        Http.Response response = Http.readResponse(new ByteArrayInputStream(out.toByteArray()));
        assertEquals(507, response.status());
        assertEquals(0, response.body().length);
    }

    @Test
    void aMessageIsWrittenInOneWrite() throws IOException {
        int[] writes = {0};
        OutputStream counting = new OutputStream() {
            @Override
            public void write(int b) {
                writes[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                writes[0]++;
            }
        };
        Http.writeRequest(counting, "POST", "/v1/gc", new byte[100]);
        assertEquals(1, writes[0], "one write, one syscall on a socket");
    }

    @Test
    void headerNamesAreCaseInsensitiveAndOnlyTheBodyIsRead() throws IOException {
        InputStream in = stream("GET /v1/healthz HTTP/1.0\r\nCONTENT-length:  3 \r\nX-Other: 1\r\n\r\nabcNEXT");
        Http.Request request = Http.readRequest(in);
        assertEquals("abc", new String(request.body(), StandardCharsets.US_ASCII));
        assertEquals("NEXT", new String(in.readAllBytes(), StandardCharsets.US_ASCII), "nothing past the body read");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "nothing at all|''|connection closed before a message",
            "cut inside the headers|'GET / HTTP/1.1\r\nHost: x\r\n'|connection closed inside the headers",
            "bare LF line ends|'GET / HTTP/1.1\n\n'|connection closed inside the headers",
            "two-part request line|'GET /\r\n\r\n'|not an HTTP/1.x request line",
            "HTTP/2|'GET / HTTP/2\r\n\r\n'|not an HTTP/1.x request line",
            "a letter Content-Length|'GET / HTTP/1.1\r\nContent-Length: ten\r\n\r\n'|bad Content-Length",
            "a negative Content-Length|'GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'|body of -1 bytes",
            "chunked|'PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'|Transfer-Encoding is not supported",
            "a body shorter than announced|'PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc'|body ended after 3 of 10"})
    void malformedRequestsAreRefusedSayingWhy(String name, String text, String reason) {
        Http.MalformedException e = malformedRequest(text);
        assertTrue(e.getMessage().contains(reason), name + ": " + e.getMessage());
    }

    @Test
    void headersUpToTheLimitAreReadAndOneByteMoreIsNot() throws IOException {
        String start = "GET / HTTP/1.1\r\nX: ";
        String end = "\r\n\r\n";
        String fits = start + "a".repeat(Http.MAX_HEADER_BYTES - start.length() - end.length()) + end;
        assertEquals(Http.MAX_HEADER_BYTES, fits.length());
        assertEquals("/", Http.readRequest(stream(fits)).path());

        String over = start + "a".repeat(Http.MAX_HEADER_BYTES - start.length() - end.length() + 1) + end;
        assertTrue(malformedRequest(over).getMessage().contains("headers longer than " + Http.MAX_HEADER_BYTES));
    }

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItIsRead() throws IOException {
        String head = "PUT / HTTP/1.1\r\nContent-Length: " + Http.MAX_BODY_BYTES + "\r\n\r\n";
        byte[] limit = new byte[head.length() + Http.MAX_BODY_BYTES];
        System.arraycopy(head.getBytes(StandardCharsets.US_ASCII), 0, limit, 0, head.length());
        assertEquals(Http.MAX_BODY_BYTES, Http.readRequest(new ByteArrayInputStream(limit)).body().length);

        // Nothing follows the headers: refusing must not wait for (or buffer) the body.
        Http.MalformedException e = malformedRequest("PUT / HTTP/1.1\r\nContent-Length: " + (Http.MAX_BODY_BYTES + 1)
                + "\r\n\r\n");
        assertTrue(e.getMessage().contains("at most " + Http.MAX_BODY_BYTES), e.getMessage());
        Http.MalformedException huge = malformedRequest("PUT / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n");
        assertTrue(huge.getMessage().contains("bad Content-Length"), huge.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not HTTP|'SSH-2.0-OpenSSH\r\n\r\n'|not an HTTP/1.x status line",
            "a word for a status|'HTTP/1.1 OK fine\r\n\r\n'|bad status",
            "no status|'HTTP/1.1\r\n\r\n'|not an HTTP/1.x status line"})
    void malformedResponsesAreRefusedSayingWhy(String name, String text, String reason) {
        Http.MalformedException e = assertThrows(Http.MalformedException.class,
                () -> Http.readResponse(stream(text)));
        assertTrue(e.getMessage().contains(reason), name + ": " + e.getMessage());
    }
}
