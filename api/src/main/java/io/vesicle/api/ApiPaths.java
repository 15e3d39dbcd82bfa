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

    private ApiPaths() {
    }

    /** /v1/endpoints/{containerID}/{ifname}: both are restricted to URL-safe characters by CNI. */
    public static String endpoint(String containerID, String ifname) {
        return ENDPOINTS + "/" + containerID + "/" + ifname;
    }
}
