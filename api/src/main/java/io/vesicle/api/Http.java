package io.vesicle.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The HTTP/1.1 subset the API speaks over its unix socket: one request and one answer per
 * connection, bodies framed by Content-Length. Shared by the agent's server and the client so
 * both sides frame messages the same way.
 */
public final class Http {
    /** Headers and bodies larger than this are refused: the API's messages are small. */
    public static final int MAX_HEADER_BYTES = 16 * 1024;
    public static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    private Http() {
    }

    public record Request(String method, String path, byte[] body) {
    }

    public record Response(int status, byte[] body) {
    }

    /** A message that is not HTTP as the API speaks it; the server answers 400. */
    public static final class MalformedException extends IOException {
        public MalformedException(String message) {
            super(message);
        }
    }

    public static void writeRequest(OutputStream out, String method, String path, byte[] body) throws IOException {
        write(out, method + " " + path + " HTTP/1.1", body);
    }

    public static void writeResponse(OutputStream out, int status, byte[] body) throws IOException {
        write(out, "HTTP/1.1 " + status + " " + reason(status), body);
    }

    private static void write(OutputStream out, String startLine, byte[] body) throws IOException {
        String head = startLine + "\r\nHost: vesicle\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        // One buffer, one write: a socket stream sends each write as its own syscall.
        byte[] message = java.util.Arrays.copyOf(headBytes, headBytes.length + body.length);
        System.arraycopy(body, 0, message, headBytes.length, body.length);
        out.write(message);
        out.flush();
    }

    public static Request readRequest(InputStream in) throws IOException {
        Head head = readFramedHead(in);
        String[] parts = head.startLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            throw new MalformedException("not an HTTP/1.x request line: " + head.startLine);
        }
        return new Request(parts[0], parts[1], readBody(in, head.contentLength));
    }

    public static Response readResponse(InputStream in) throws IOException {
        Head head = readFramedHead(in);
        String[] parts = head.startLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new MalformedException("not an HTTP/1.x status line: " + head.startLine);
        }
        try {
            return new Response(Integer.parseInt(parts[1]), readBody(in, head.contentLength));
        } catch (NumberFormatException e) {
            throw new MalformedException("bad status in " + head.startLine);
        }
    }

    private record Head(String startLine, int contentLength, boolean chunked, boolean lengthGiven) {
    }

    /** A head whose body has a Content-Length, as every message but a stream's. */
    private static Head readFramedHead(InputStream in) throws IOException {
        Head head = readHead(in);
        if (head.chunked) {
            throw new MalformedException("Transfer-Encoding is not supported; send Content-Length");
        }
        return head;
    }

    /**
     * The answer to a streaming request (GET /v1/monitor): its status, and its body as it arrives,
     * chunked transfer coding removed, or until the connection closes; an error answer's body is
     * framed by Content-Length.
     */
    public record StreamResponse(int status, InputStream body) {
    }

    public static StreamResponse readStreamResponse(InputStream in) throws IOException {
        Head head = readHead(in);
        String[] parts = head.startLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new MalformedException("not an HTTP/1.x status line: " + head.startLine);
        }
        int status;
        try {
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new MalformedException("bad status in " + head.startLine);
        }
        // Without a length or chunks, the body lasts until the connection closes (RFC 9112, 6.3).
        InputStream body = head.chunked ? new ChunkedInputStream(in)
                : head.lengthGiven ? new java.io.ByteArrayInputStream(readBody(in, head.contentLength)) : in;
        return new StreamResponse(status, body);
    }

    /** RFC 9112 chunked coding: size line (hex, extensions ignored), data, CRLF; a 0 size ends it. */
    private static final class ChunkedInputStream extends InputStream {
        private final InputStream in;
        private long left;
        private boolean ended;

        ChunkedInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (left == 0) {
                if (ended || !nextChunk()) {
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new MalformedException("the stream ended inside a chunk");
            }
            left -= n;
            if (left == 0) {
                line(); // the CRLF after the data
            }
            return n;
        }

        private boolean nextChunk() throws IOException {
            String size = line();
            int semicolon = size.indexOf(';');
            try {
                left = Long.parseLong((semicolon >= 0 ? size.substring(0, semicolon) : size).trim(), 16);
            } catch (NumberFormatException e) {
                throw new MalformedException("bad chunk size '" + size + "'");
            }
            if (left == 0) {
                ended = true;
                return false;
            }
            return true;
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    if (line.length() == 0 && !ended) {
                        ended = true;
                        return "0";
                    }
                    throw new MalformedException("the stream ended inside a chunk header");
                }
                if (b != '\r') {
                    line.append((char) b);
                }
                if (line.length() > 1024) {
                    throw new MalformedException("chunk header longer than 1024 bytes");
                }
            }
            return line.toString();
        }
    }

    private static Head readHead(InputStream in) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(256);
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new MalformedException(buffer.size() == 0 ? "connection closed before a message"
                        : "connection closed inside the headers");
            }
            buffer.write(b);
            if (buffer.size() > MAX_HEADER_BYTES) {
                throw new MalformedException("headers longer than " + MAX_HEADER_BYTES + " bytes");
            }
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = buffer.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int length = 0;
        boolean chunked = false;
        boolean lengthGiven = false;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim();
            if (name.equals("content-length")) {
                lengthGiven = true;
                try {
                    length = Integer.parseInt(value);
                } catch (NumberFormatException e) {
                    throw new MalformedException("bad Content-Length: " + value);
                }
            } else if (name.equals("transfer-encoding")) {
                chunked = true;
                if (!value.equalsIgnoreCase("chunked")) {
                    throw new MalformedException("Transfer-Encoding " + value + " is not supported");
                }
            }
        }
        if (length < 0 || length > MAX_BODY_BYTES) {
            throw new MalformedException("body of " + length + " bytes (at most " + MAX_BODY_BYTES + ")");
        }
        return new Head(lines[0], length, chunked, lengthGiven);
    }

    private static byte[] readBody(InputStream in, int length) throws IOException {
        byte[] body = in.readNBytes(length);
        if (body.length != length) {
            throw new MalformedException("body ended after " + body.length + " of " + length + " bytes");
        }
        return body;
    }

    static String reason(int status) {
        switch (status) {
            case 200: return "OK";
            case 400: return "Bad Request";
            case 404: return "Not Found";
            case 405: return "Method Not Allowed";
            case 409: return "Conflict";
            case 413: return "Payload Too Large";
            case 500: return "Internal Server Error";
            case 503: return "Service Unavailable";
            case 507: return "Insufficient Storage";
            default: return "Status";
        }
    }
}
