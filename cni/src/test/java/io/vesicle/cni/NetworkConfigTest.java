package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class NetworkConfigTest {
    static NetworkConfig parse(String text) throws CniError {
        return NetworkConfig.parse(text.getBytes(StandardCharsets.UTF_8));
    }

    static CniError error(String text) {
        return assertThrows(CniError.class, () -> parse(text));
    }

    @Test
    void aMinimalConfigUsesTheAgentsIpamAndDefaultSocket() throws CniError {
        NetworkConfig c = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"vesicle\",\"type\":\"vesicle\"}");
        assertEquals("1.1.0", c.cniVersion());
        assertEquals("vesicle", c.name());
        assertEquals(ApiPaths.DEFAULT_SOCKET, c.agentSocket());
        assertFalse(c.delegatesIpam());
        assertTrue(c.dns().isEmpty());
        assertNull(c.prevResult());
    }

    @Test
    void readsSocketIpamAndDns() throws CniError {
        NetworkConfig c = parse("{\"cniVersion\":\"0.4.0\",\"name\":\"k8s-pod-network\",\"type\":\"vesicle\","
                + "\"agentSocket\":\"/run/v.sock\",\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.0.0/24\"},"
                + "\"dns\":{\"nameservers\":[\"10.96.0.10\"],\"domain\":\"cluster.local\",\"search\":[\"a\",\"b\"],"
                + "\"options\":[\"ndots:5\"]},\"runtimeConfig\":{\"portMappings\":[]},\"args\":{\"x\":1},"
                + "\"somethingElse\":[1,2]}");
        assertEquals(Path.of("/run/v.sock"), c.agentSocket());
        assertTrue(c.delegatesIpam());
        assertEquals("host-local", c.ipamType());
        assertEquals(new CniResult.Dns(List.of("10.96.0.10"), "cluster.local", List.of("a", "b"), List.of("ndots:5")),
                c.dns());
    }

    @Test
    void ipamTypeVesicleIsTheAgent() throws CniError {
        assertFalse(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":{\"type\":\"vesicle\"}}")
                .delegatesIpam());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   \n", "{", "not json", "{\"cniVersion\":\"1.0.0\",}", "[]", "\"config\"", "42", "null"})
    void emptyOrUndecodableStdinIsError6(String text) {
        assertEquals(6, error(text).code());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.1.0", "0.2.0", "1.2.0", "2.0.0", "1.1", "banana", ""})
    void anUnsupportedVersionIsError1(String version) {
        CniError e = error("{\"cniVersion\":\"" + version + "\",\"name\":\"n\",\"type\":\"vesicle\"}");
        assertEquals(1, e.code());
        assertEquals("incompatible CNI versions", e.msg());
        assertTrue(e.details().contains("1.1.0"), e.details());
    }

    @Test
    void anAbsentVersionMeans010AndIsError1() {
        CniError e = error("{\"name\":\"n\",\"type\":\"vesicle\"}");
        assertEquals(1, e.code());
        assertTrue(e.details().contains("0.1.0"), e.details());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"})
    void everySupportedVersionIsAccepted(String version) throws CniError {
        assertEquals(version, parse("{\"cniVersion\":\"" + version + "\",\"name\":\"n\",\"type\":\"vesicle\"}").cniVersion());
    }

    /** A missing or mistyped member: error 7 whose message names it. */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "{\"cniVersion\":1.0,\"name\":\"n\",\"type\":\"vesicle\"}|cniVersion",
        "{\"cniVersion\":\"1.0.0\",\"type\":\"vesicle\"}|name",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"\",\"type\":\"vesicle\"}|name",
        "{\"cniVersion\":\"1.0.0\",\"name\":7,\"type\":\"vesicle\"}|name",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"-bad\",\"type\":\"vesicle\"}|name",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}|type",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":[\"vesicle\"]}|type",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"agentSocket\":5}|agentSocket",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"agentSocket\":\"\"}|agentSocket",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":\"host-local\"}|ipam",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":{}}|ipam.type",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":{\"type\":true}}|ipam.type",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":{\"type\":\"../bin/sh\"}}|ipam.type",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"dns\":[]}|dns",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"dns\":{\"nameservers\":\"10.0.0.1\"}}|dns.nameservers",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"dns\":{\"search\":[1]}}|dns.search[0]",
        "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"dns\":{\"domain\":{}}}|dns.domain",
    })
    void aMissingOrMistypedMemberIsError7NamingIt(String text, String member) {
        CniError e = error(text);
        assertEquals(7, e.code(), e.getMessage());
        assertTrue(e.msg().contains(" " + member + " "), e.msg());
    }

    @Test
    void jsonNullCountsAsAbsent() throws CniError {
        NetworkConfig c = parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\",\"ipam\":null,"
                + "\"dns\":null,\"prevResult\":null,\"agentSocket\":null}");
        assertFalse(c.delegatesIpam());
        assertFalse(c.hasPrevResult());
    }

    @Test
    void aMalformedPrevResultIsError7NamingTheMember() throws CniError {
        NetworkConfig c = parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\","
                + "\"prevResult\":{\"ips\":[{\"address\":5}]}}");
        CniError e = assertThrows(CniError.class, c::prevResult);
        assertEquals(7, e.code());
        assertTrue(e.msg().contains("prevResult.ips[0].address"), e.msg());
    }

    @Test
    void gcReadsTheValidAttachmentsUnderEitherName() throws CniError {
        String base = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"vesicle\",";
        List<Messages.Attachment> expected = List.of(new Messages.Attachment("a", "eth0"),
                new Messages.Attachment("b", "net1"));
        String list = "[{\"containerID\":\"a\",\"ifname\":\"eth0\"},{\"containerID\":\"b\",\"ifname\":\"net1\"}]";
        assertEquals(expected, parse(base + "\"cni.dev/valid-attachments\":" + list + "}").validAttachments());
        assertEquals(expected, parse(base + "\"cni.dev/attachments\":" + list + "}").validAttachments());
        assertEquals(List.of(), parse(base + "\"cni.dev/valid-attachments\":[]}").validAttachments());
    }

    @Test
    void gcWithoutAListIsError7RatherThanRemovingEverything() throws CniError {
        NetworkConfig c = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"vesicle\"}");
        CniError e = assertThrows(CniError.class, c::validAttachments);
        assertEquals(7, e.code());
        assertTrue(e.msg().contains("cni.dev/valid-attachments"), e.msg());
        NetworkConfig bad = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"vesicle\","
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\"}]}");
        e = assertThrows(CniError.class, bad::validAttachments);
        assertTrue(e.msg().contains("cni.dev/valid-attachments[0].ifname"), e.msg());
    }

    @Test
    void commandsNewerThanTheConfigAreError1() throws CniError {
        NetworkConfig old = parse("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"vesicle\"}");
        CniError e = assertThrows(CniError.class, () -> old.requireVersion("0.4.0", CniEnvironment.Command.CHECK));
        assertEquals(1, e.code());
        assertEquals("config version does not allow CHECK", e.msg());
        NetworkConfig v100 = parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"vesicle\"}");
        v100.requireVersion("0.4.0", CniEnvironment.Command.CHECK);
        assertThrows(CniError.class, () -> v100.requireVersion("1.1.0", CniEnvironment.Command.GC));
    }
}
