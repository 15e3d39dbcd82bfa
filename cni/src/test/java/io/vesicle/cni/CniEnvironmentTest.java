package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class CniEnvironmentTest {
    static final String NETNS = "/proc/self/ns/net";

    static Map<String, String> env(String command) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "c0ffee");
        env.put("CNI_NETNS", NETNS);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/opt/cni/bin:/usr/lib/cni");
        return env;
    }

    static CniError error(Map<String, String> env) {
        return assertThrows(CniError.class, () -> CniEnvironment.parse(env));
    }

    /** Each variable a command needs, removed (or emptied) in turn: error 4 naming it. */
    static Stream<Arguments> required() {
        return Stream.of(
                Arguments.of("ADD", "CNI_CONTAINERID"), Arguments.of("ADD", "CNI_NETNS"), Arguments.of("ADD", "CNI_IFNAME"),
                Arguments.of("CHECK", "CNI_CONTAINERID"), Arguments.of("CHECK", "CNI_NETNS"),
                Arguments.of("CHECK", "CNI_IFNAME"),
                Arguments.of("DEL", "CNI_CONTAINERID"), Arguments.of("DEL", "CNI_IFNAME"),
                Arguments.of("GC", "CNI_PATH"));
    }

    @ParameterizedTest(name = "{0} without {1}")
    @MethodSource("required")
    void aMissingRequiredVariableIsError4NamingIt(String command, String variable) {
        for (String value : new String[] {null, ""}) {
            Map<String, String> env = env(command);
            if (value == null) {
                env.remove(variable);
            } else {
                env.put(variable, value);
            }
            CniError e = error(env);
            assertEquals(4, e.code());
            assertTrue(e.msg().contains(variable), e.msg());
        }
    }

    /** What the spec leaves optional per command. */
    static Stream<Arguments> optional() {
        return Stream.of(
                Arguments.of("DEL", List.of("CNI_NETNS", "CNI_PATH", "CNI_ARGS")),
                Arguments.of("ADD", List.of("CNI_PATH", "CNI_ARGS")),
                Arguments.of("CHECK", List.of("CNI_PATH", "CNI_ARGS")),
                Arguments.of("STATUS", List.of("CNI_PATH", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME")),
                Arguments.of("GC", List.of("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME")),
                Arguments.of("VERSION", List.of("CNI_PATH", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME")));
    }

    @ParameterizedTest(name = "{0} without {1}")
    @MethodSource("optional")
    void optionalVariablesMayBeAbsent(String command, List<String> absent) throws CniError {
        Map<String, String> env = env(command);
        absent.forEach(env::remove);
        assertEquals(CniEnvironment.Command.valueOf(command), CniEnvironment.parse(env).command());
    }

    @Test
    void delWithoutNetnsHasNone() throws CniError {
        Map<String, String> env = env("DEL");
        env.remove("CNI_NETNS");
        assertNull(CniEnvironment.parse(env).netns());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "add", "INIT", "FINALIZE", "VERSION "})
    void anUnknownOrMissingCommandIsError4(String command) {
        Map<String, String> env = env(command);
        CniError e = error(env);
        assertEquals(4, e.code());
        assertTrue(e.msg().contains("CNI_COMMAND"), e.msg());
        env.remove("CNI_COMMAND");
        assertEquals(4, error(env).code());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-abc", "_abc", ".abc", "abc/def", "abc def", "abc:def", "é", "abc$"})
    void aBadContainerIdIsError4(String id) {
        Map<String, String> env = env("ADD");
        env.put("CNI_CONTAINERID", id);
        CniError e = error(env);
        assertEquals(4, e.code());
        assertTrue(e.msg().contains("CNI_CONTAINERID"), e.msg());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "0", "abc-def_ghi.jkl", "3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755"})
    void goodContainerIds(String id) throws CniError {
        Map<String, String> env = env("ADD");
        env.put("CNI_CONTAINERID", id);
        assertEquals(id, CniEnvironment.parse(env).containerId());
    }

    @ParameterizedTest
    @ValueSource(strings = {".", "..", "eth0/1", "eth:0", "eth 0", "eth\t0", "abcdefghijklmnop", "eth\u00e90", "eth%0",
        "eth?", "eth#0"})
    void aBadInterfaceNameIsError4(String name) {
        Map<String, String> env = env("ADD");
        env.put("CNI_IFNAME", name);
        CniError e = error(env);
        assertEquals(4, e.code());
        assertTrue(e.msg().contains("CNI_IFNAME"), e.msg());
    }

    @ParameterizedTest
    @ValueSource(strings = {"eth0", "e", "abcdefghijklmno", "net1.100", "veth-a_b", "...", "eth@0"})
    void goodInterfaceNames(String name) throws CniError {
        Map<String, String> env = env("ADD");
        env.put("CNI_IFNAME", name);
        assertEquals(name, CniEnvironment.parse(env).ifname());
    }

    @Test
    void aNetnsThatDoesNotExistIsError4ForAddAndCheckButNotDel() throws CniError {
        for (String command : new String[] {"ADD", "CHECK"}) {
            Map<String, String> env = env(command);
            env.put("CNI_NETNS", "/var/run/netns/vesicle-test-no-such-namespace");
            CniError e = error(env);
            assertEquals(4, e.code());
            assertTrue(e.msg().contains("CNI_NETNS") && e.msg().contains("does not exist"), e.msg());
        }
        Map<String, String> env = env("DEL");
        env.put("CNI_NETNS", "/var/run/netns/vesicle-test-no-such-namespace");
        assertEquals("/var/run/netns/vesicle-test-no-such-namespace", CniEnvironment.parse(env).netns());
    }

    @Test
    void cniArgsCarryThePodAndTolerateUnknownKeys() throws CniError {
        Map<String, String> env = env("ADD");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;"
                + "K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=1-2-3;;");
        CniEnvironment parsed = CniEnvironment.parse(env);
        assertEquals("default", parsed.podNamespace());
        assertEquals("web-1", parsed.podName());
        assertEquals("1-2-3", parsed.args().get("K8S_POD_UID"));
    }

    @Test
    void withoutCniArgsThereIsNoPod() throws CniError {
        CniEnvironment parsed = CniEnvironment.parse(env("ADD"));
        assertNull(parsed.podNamespace());
        assertNull(parsed.podName());
    }

    @ParameterizedTest
    @ValueSource(strings = {"K8S_POD_NAME", "=value", "A=1;junk"})
    void malformedCniArgsAreError4(String args) {
        Map<String, String> env = env("ADD");
        env.put("CNI_ARGS", args);
        CniError e = error(env);
        assertEquals(4, e.code());
        assertTrue(e.msg().contains("CNI_ARGS"), e.msg());
    }

    @Test
    void cniPathKeepsItsOrderAndSkipsEmptyEntries() throws CniError {
        Map<String, String> env = env("ADD");
        env.put("CNI_PATH", ":/a::/b:");
        assertEquals(List.of("/a", "/b"), CniEnvironment.parse(env).path());
    }
}
