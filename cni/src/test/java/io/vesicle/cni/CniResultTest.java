package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CniResultTest {
    /** What ADD builds for one endpoint (Add.result), with DNS from the configuration. */
    static final CniResult OURS = new CniResult(
            List.of(new CniResult.Interface("lxc1a2b3c4d5e6", "02:00:00:00:00:01", null, null, null, null),
                    new CniResult.Interface("eth0", "02:00:00:00:00:02", 1450, "/var/run/netns/p", null, null)),
            List.of(new CniResult.IpConfig(1, "10.244.1.5/24", "10.244.1.1")),
            List.of(new CniResult.Route("0.0.0.0/0", "10.244.1.1")),
            new CniResult.Dns(List.of("10.96.0.10"), null, List.of("default.svc.cluster.local"), List.of()));

    static final String LEGACY = "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"lxc1a2b3c4d5e6\","
            + "\"mac\":\"02:00:00:00:00:01\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\","
            + "\"sandbox\":\"/var/run/netns/p\"}],\"ips\":[{\"version\":\"4\",\"interface\":1,"
            + "\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
            + "\"gw\":\"10.244.1.1\"}],\"dns\":{\"nameservers\":[\"10.96.0.10\"],"
            + "\"search\":[\"default.svc.cluster.local\"]}}";
    static final String CURRENT = "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"lxc1a2b3c4d5e6\","
            + "\"mac\":\"02:00:00:00:00:01\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"mtu\":1450,"
            + "\"sandbox\":\"/var/run/netns/p\"}],\"ips\":[{\"interface\":1,\"address\":\"10.244.1.5/24\","
            + "\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.1.1\"}],"
            + "\"dns\":{\"nameservers\":[\"10.96.0.10\"],\"search\":[\"default.svc.cluster.local\"]}}";

    @ParameterizedTest
    @CsvSource({"0.3.0,legacy", "0.3.1,legacy", "0.4.0,legacy", "1.0.0,current", "1.1.0,current"})
    void goldenResultPerVersion(String version, String shape) throws Exception {
        String expected = String.format(shape.equals("legacy") ? LEGACY : CURRENT, version);
        String written = Json.write(OURS.toJson(version));
        assertEquals(expected, written);
        // Read back in its own version: the same model (the legacy shape drops only the MTU).
        CniResult back = CniResult.parse(Json.parse(written), "prevResult");
        assertEquals(expected, Json.write(back.toJson(version)));
    }

    @Test
    void legacyResultsCarryIpv6Versions() {
        CniResult r = new CniResult(List.of(), List.of(new CniResult.IpConfig(null, "fd00::5/64", null)), List.of(), null);
        assertEquals("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\",\"address\":\"fd00::5/64\"}],\"dns\":{}}",
                Json.write(r.toJson("0.4.0")));
        assertEquals("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::5/64\"}],\"dns\":{}}",
                Json.write(r.toJson("1.0.0")));
    }

    @Test
    void routeAttributesAndInterfaceExtrasOnlyIn1x() throws Exception {
        String text = "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"net1\",\"mtu\":9000,\"sandbox\":\"/x\","
                + "\"socketPath\":\"/s\",\"pciID\":\"0000:00:01.0\"}],\"routes\":[{\"dst\":\"10.0.0.0/8\","
                + "\"gw\":\"10.0.0.1\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,\"table\":100,\"scope\":253}],"
                + "\"dns\":{}}";
        CniResult r = CniResult.parse(Json.parse(text), "prevResult");
        assertEquals(text, Json.write(r.toJson("1.1.0")));
        assertEquals("{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"net1\",\"sandbox\":\"/x\"}],"
                + "\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"10.0.0.1\"}],\"dns\":{}}", Json.write(r.toJson("0.4.0")));
    }

    @Test
    void appendingPutsOurInterfacesAfterThePreviousOnesAndKeepsTheirDns() throws Exception {
        String prevText = "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:ff\"}],"
                + "\"ips\":[{\"version\":\"4\",\"interface\":0,\"address\":\"192.168.0.2/24\"}],"
                + "\"routes\":[{\"dst\":\"192.168.0.0/16\"}],\"dns\":{\"domain\":\"example\"}}";
        CniResult prev = CniResult.parse(Json.parse(prevText), "prevResult");
        CniResult all = prev.append(OURS);
        assertEquals(List.of("cni0", "lxc1a2b3c4d5e6", "eth0"),
                all.interfaces().stream().map(CniResult.Interface::name).toList());
        assertEquals(0, all.ips().get(0).interfaceIndex());
        assertEquals(2, all.ips().get(1).interfaceIndex(), "our address points at our pod interface");
        assertEquals(List.of("192.168.0.0/16", "0.0.0.0/0"), all.routes().stream().map(CniResult.Route::dst).toList());
        assertEquals("example", all.dns().domain());
        assertEquals(OURS.dns(), CniResult.EMPTY.append(OURS).dns(), "an empty previous DNS gives way to ours");
    }

    @Test
    void parsesResultsOfEverySupportedVersion() throws Exception {
        // host-local's answers, as 0.3.1 and 1.0.0 (no interfaces, no interface index).
        CniResult v031 = CniResult.parse(Json.parse("{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\","
                + "\"address\":\"10.99.0.3/24\",\"gateway\":\"10.99.0.1\"}],\"dns\":{}}"), "result");
        CniResult v100 = CniResult.parse(Json.parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{"
                + "\"address\":\"10.99.0.3/24\",\"gateway\":\"10.99.0.1\"}],\"dns\":{}}"), "result");
        assertEquals(v031, v100);
        assertEquals("10.99.0.1", v100.ips().get(0).gateway());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"ips\":[{\"address\":\"10.0.0.1\"}]}|prevResult.ips[0].address",
        "{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}|prevResult.ips[0].address",
        "{\"ips\":[{\"version\":\"5\",\"address\":\"10.0.0.1/8\"}]}|prevResult.ips[0].version",
        "{\"ips\":[{\"interface\":3,\"address\":\"10.0.0.1/8\"}]}|prevResult.ips[0].interface",
        "{\"ips\":[{\"interface\":\"0\",\"address\":\"10.0.0.1/8\"}]}|prevResult.ips[0].interface",
        "{\"interfaces\":[{\"mac\":\"x\"}]}|prevResult.interfaces[0].name",
        "{\"interfaces\":{}}|prevResult.interfaces",
        "{\"routes\":[{\"gw\":\"10.0.0.1\"}]}|prevResult.routes[0].dst",
        "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1.5}]}|prevResult.routes[0].mtu",
        "{\"dns\":{\"nameservers\":[1]}}|prevResult.dns.nameservers[0]",
        "[]|prevResult",
    })
    void malformedResultsAreError7NamingTheMember(String text, String member) {
        CniError e = assertThrows(CniError.class, () -> CniResult.parse(Json.parse(text), "prevResult"));
        assertEquals(7, e.code());
        assertTrue(e.msg().contains(member + " "), e.msg());
    }
}
