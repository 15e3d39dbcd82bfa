package io.vesicle.cni;

/** VERSION: the spec version of this output and every version the plugin accepts. */
final class Version {
    private Version() {
    }

    static String document() {
        StringBuilder out = new StringBuilder(96);
        out.append("{\"cniVersion\":");
        Json.quote(out, NetworkConfig.CURRENT_VERSION);
        out.append(",\"supportedVersions\":");
        Json.write(out, NetworkConfig.SUPPORTED_VERSIONS);
        return out.append('}').toString();
    }
}
