package io.vesicle.cni;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A CNI result in the 1.x model (SPEC.md section 5), read from any supported version (a
 * prevResult, a delegated IPAM plugin's answer) and written in the shape of the version asked
 * for: 0.3.0, 0.3.1 and 0.4.0 carry {@code ips[].version} and no interface MTU nor route
 * attributes; 1.0.0 and 1.1.0 share one shape (as libcni's types/100 does for both).
 */
record CniResult(List<Interface> interfaces, List<IpConfig> ips, List<Route> routes, Dns dns) {

    record Interface(String name, String mac, Integer mtu, String sandbox, String socketPath, String pciID) {
    }

    /** interfaceIndex points into {@link #interfaces}; null when unknown (IPAM plugins' answers). */
    record IpConfig(Integer interfaceIndex, String address, String gateway) {
        /** "4" or "6", as the 0.x results spell it. */
        String version() {
            return address.indexOf(':') >= 0 ? "6" : "4";
        }
    }

    record Route(String dst, String gw, Integer mtu, Integer advmss, Integer priority, Integer table, Integer scope) {
        Route(String dst, String gw) {
            this(dst, gw, null, null, null, null, null);
        }
    }

    record Dns(List<String> nameservers, String domain, List<String> search, List<String> options) {
        static final Dns EMPTY = new Dns(List.of(), null, List.of(), List.of());

        boolean isEmpty() {
            return nameservers.isEmpty() && (domain == null || domain.isEmpty()) && search.isEmpty()
                    && options.isEmpty();
        }
    }

    static final CniResult EMPTY = new CniResult(List.of(), List.of(), List.of(), Dns.EMPTY);

    CniResult {
        interfaces = List.copyOf(interfaces);
        ips = List.copyOf(ips);
        routes = List.copyOf(routes);
        dns = dns == null ? Dns.EMPTY : dns;
    }

    /** True for the versions whose results carry ips[].version (0.3.0 to 0.4.0). */
    static boolean isLegacy(String cniVersion) {
        return cniVersion.startsWith("0.");
    }

    /**
     * This result followed by {@code ours}: our interfaces come after the previous ones and our
     * addresses point at them; the previous DNS stays unless it says nothing.
     */
    CniResult append(CniResult ours) {
        List<Interface> allInterfaces = new ArrayList<>(interfaces);
        allInterfaces.addAll(ours.interfaces);
        List<IpConfig> allIps = new ArrayList<>(ips);
        for (IpConfig ip : ours.ips) {
            Integer index = ip.interfaceIndex == null ? null : ip.interfaceIndex + interfaces.size();
            allIps.add(new IpConfig(index, ip.address, ip.gateway));
        }
        List<Route> allRoutes = new ArrayList<>(routes);
        allRoutes.addAll(ours.routes);
        return new CniResult(allInterfaces, allIps, allRoutes, dns.isEmpty() ? ours.dns : dns);
    }

    // ---- writing ----

    Map<String, Object> toJson(String cniVersion) {
        boolean legacy = isLegacy(cniVersion);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("cniVersion", cniVersion);
        if (!interfaces.isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (Interface i : interfaces) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", i.name);
                putIfSet(m, "mac", i.mac);
                if (!legacy) {
                    putIfSet(m, "mtu", i.mtu == null || i.mtu == 0 ? null : i.mtu);
                }
                putIfSet(m, "sandbox", i.sandbox);
                if (!legacy) {
                    putIfSet(m, "socketPath", i.socketPath);
                    putIfSet(m, "pciID", i.pciID);
                }
                list.add(m);
            }
            json.put("interfaces", list);
        }
        if (!ips.isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (IpConfig ip : ips) {
                Map<String, Object> m = new LinkedHashMap<>();
                if (legacy) {
                    m.put("version", ip.version());
                }
                putIfSet(m, "interface", ip.interfaceIndex);
                m.put("address", ip.address);
                putIfSet(m, "gateway", ip.gateway);
                list.add(m);
            }
            json.put("ips", list);
        }
        if (!routes.isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (Route r : routes) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("dst", r.dst);
                putIfSet(m, "gw", r.gw);
                if (!legacy) {
                    putIfSet(m, "mtu", r.mtu);
                    putIfSet(m, "advmss", r.advmss);
                    putIfSet(m, "priority", r.priority);
                    putIfSet(m, "table", r.table);
                    putIfSet(m, "scope", r.scope);
                }
                list.add(m);
            }
            json.put("routes", list);
        }
        Map<String, Object> d = new LinkedHashMap<>();
        if (!dns.nameservers.isEmpty()) {
            d.put("nameservers", dns.nameservers);
        }
        putIfSet(d, "domain", dns.domain == null || dns.domain.isEmpty() ? null : dns.domain);
        if (!dns.search.isEmpty()) {
            d.put("search", dns.search);
        }
        if (!dns.options.isEmpty()) {
            d.put("options", dns.options);
        }
        json.put("dns", d);
        return json;
    }

    private static void putIfSet(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    // ---- reading ----

    /**
     * A result in any supported version. {@code field} names it in messages ("prevResult", "the
     * IPAM plugin's result"); every problem is error 7 naming the member.
     */
    static CniResult parse(Object json, String field) throws CniError {
        Map<String, Object> root = Fields.object(json, field);
        List<Interface> interfaces = new ArrayList<>();
        List<Object> list = Fields.optionalArray(root, "interfaces", field);
        for (int n = 0; n < list.size(); n++) {
            String at = field + ".interfaces[" + n + "]";
            Map<String, Object> m = Fields.object(list.get(n), at);
            interfaces.add(new Interface(Fields.requiredString(m, "name", at), Fields.optionalString(m, "mac", at),
                    Fields.optionalInt(m, "mtu", at), Fields.optionalString(m, "sandbox", at),
                    Fields.optionalString(m, "socketPath", at), Fields.optionalString(m, "pciID", at)));
        }
        List<IpConfig> ips = new ArrayList<>();
        list = Fields.optionalArray(root, "ips", field);
        for (int n = 0; n < list.size(); n++) {
            String at = field + ".ips[" + n + "]";
            Map<String, Object> m = Fields.object(list.get(n), at);
            String version = Fields.optionalString(m, "version", at);
            if (version != null && !version.equals("4") && !version.equals("6")) {
                throw Fields.invalid(at + ".version", "must be \"4\" or \"6\"");
            }
            String address = Fields.requiredString(m, "address", at);
            if (address.indexOf('/') < 0) {
                throw Fields.invalid(at + ".address", "must be an address with its prefix length (CIDR)");
            }
            Integer index = Fields.optionalInt(m, "interface", at);
            if (index != null && (index < 0 || index >= interfaces.size())) {
                throw Fields.invalid(at + ".interface", "is " + index + " but there are " + interfaces.size()
                        + " interfaces");
            }
            ips.add(new IpConfig(index, address, Fields.optionalString(m, "gateway", at)));
        }
        List<Route> routes = new ArrayList<>();
        list = Fields.optionalArray(root, "routes", field);
        for (int n = 0; n < list.size(); n++) {
            String at = field + ".routes[" + n + "]";
            Map<String, Object> m = Fields.object(list.get(n), at);
            routes.add(new Route(Fields.requiredString(m, "dst", at), Fields.optionalString(m, "gw", at),
                    Fields.optionalInt(m, "mtu", at), Fields.optionalInt(m, "advmss", at),
                    Fields.optionalInt(m, "priority", at), Fields.optionalInt(m, "table", at),
                    Fields.optionalInt(m, "scope", at)));
        }
        Object dns = root.get("dns");
        return new CniResult(interfaces, ips, routes, dns == null ? Dns.EMPTY : parseDns(dns, field + ".dns"));
    }

    static Dns parseDns(Object json, String field) throws CniError {
        Map<String, Object> m = Fields.object(json, field);
        return new Dns(Fields.optionalStrings(m, "nameservers", field), Fields.optionalString(m, "domain", field),
                Fields.optionalStrings(m, "search", field), Fields.optionalStrings(m, "options", field));
    }
}
