package io.vesicle.api;

import java.nio.file.Path;

/** Where the API lives and its resources. */
public final class ApiPaths {
    public static final Path DEFAULT_SOCKET = Path.of("/var/run/vesicle/vesicle.sock");
    public static final String HEALTHZ = "/v1/healthz";
    public static final String STATUS = "/v1/status";
    public static final String CONFIG = "/v1/config";
    public static final String IPAM_ALLOCATE = "/v1/ipam/allocate";
    public static final String IPAM_RELEASE = "/v1/ipam/release";
    public static final String ENDPOINTS = "/v1/endpoints";
    public static final String GC = "/v1/gc";
    /** Streams datapath events, one JSON object per line, while the connection lasts. */
    public static final String MONITOR = "/v1/monitor";
    /** GET: what the event reader read and lost, and the settings; PUT {@code /config}: change them. */
    public static final String EVENTS = "/v1/events";
    public static final String EVENTS_CONFIG = "/v1/events/config";
    /** The datapath's maps (GET), one map's entries ({@code /v1/datapath/maps/NAME}), its counters. */
    public static final String DATAPATH_MAPS = "/v1/datapath/maps";
    public static final String DATAPATH_METRICS = "/v1/datapath/metrics";
    public static final String IDENTITIES = "/v1/identities";
    public static final String IPCACHE = "/v1/ipcache";
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private ApiPaths() {
    }

    /**
     * /v1/endpoints/{containerID}/{ifname}, each percent-encoded as UTF-8 (the agent decodes
     * them): CNI keeps container IDs URL-safe, but a Linux interface name may hold '%', '?', '#'
     * or any non-ASCII byte, which would otherwise cut or bend the path.
     */
    public static String endpoint(String containerID, String ifname) {
        return ENDPOINTS + "/" + segment(containerID) + "/" + segment(ifname);
    }

    /** RFC 3986's unreserved characters as they are, every other byte as %XX. */
    static String segment(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
            }
        }
        return out.toString();
    }
}
