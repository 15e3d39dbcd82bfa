package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.NodeSnapshot;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input, one exec of bin/vesicle-cni per row: the spec's error code in a CNI error document on
 * stdout, a non-zero exit, and nothing changed on the node ({@link NodeSnapshot}: links, addresses,
 * routes and tc filters of the node and the pods, map entries and pins, the agent's state and IPAM
 * files by content, and what its API says). One pod is live
 * throughout, so that a bad DEL or GC that removed anything would show.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CniBadInputIT extends CniNodeFixture {
    static final int INCOMPATIBLE_VERSION = 1;
    static final int INVALID_ENVIRONMENT = 4;
    static final int DECODING_FAILURE = 6;
    static final int INVALID_CONFIG = 7;

    CniNode.Pod live;
    CniNode.Pod target;

    @BeforeAll
    void setUp() {
        live = node.pod("live");
        target = node.pod("target");
        runtime.add(list, live.eth0());
    }

    /** One row: env changes over a valid ADD of the target pod (null removes a variable), stdin changes. */
    record Row(String name, Map<String, String> env, Consumer<ObjectNode> config, String stdin, int code) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Row env(String name, int code, String... kv) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return new Row(name, env, c -> { }, null, code);
    }

    static Row config(String name, int code, Consumer<ObjectNode> change) {
        return new Row(name, Map.of(), change, null, code);
    }

    static Row stdin(String name, int code, String stdin) {
        return new Row(name, Map.of(), c -> { }, stdin, code);
    }

    static Row with(Row row, String... kv) {
        Map<String, String> env = new HashMap<>(row.env());
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return new Row(row.name(), env, row.config(), row.stdin(), row.code());
    }

    static final String LIVE = "@live"; // stands for the live pod's container ID

    Stream<Arguments> rows() {
        return Stream.of(
                env("missing CNI_COMMAND", INVALID_ENVIRONMENT, "CNI_COMMAND", null),
                env("empty CNI_COMMAND", INVALID_ENVIRONMENT, "CNI_COMMAND", ""),
                env("unknown command", INVALID_ENVIRONMENT, "CNI_COMMAND", "FROB"),
                env("lower-case command", INVALID_ENVIRONMENT, "CNI_COMMAND", "add"),
                env("ADD without CNI_CONTAINERID", INVALID_ENVIRONMENT, "CNI_CONTAINERID", null),
                env("ADD with an empty CNI_CONTAINERID", INVALID_ENVIRONMENT, "CNI_CONTAINERID", ""),
                env("ADD without CNI_NETNS", INVALID_ENVIRONMENT, "CNI_NETNS", null),
                env("ADD without CNI_IFNAME", INVALID_ENVIRONMENT, "CNI_IFNAME", null),
                env("CHECK without CNI_NETNS", INVALID_ENVIRONMENT, "CNI_COMMAND", "CHECK", "CNI_NETNS", null),
                env("DEL without CNI_CONTAINERID", INVALID_ENVIRONMENT, "CNI_COMMAND", "DEL",
                        "CNI_CONTAINERID", null),
                env("DEL of the live pod without CNI_IFNAME", INVALID_ENVIRONMENT, "CNI_COMMAND", "DEL",
                        "CNI_CONTAINERID", LIVE, "CNI_IFNAME", null),
                env("container ID with a slash", INVALID_ENVIRONMENT, "CNI_CONTAINERID", "abc/../def"),
                env("container ID starting with a dash", INVALID_ENVIRONMENT, "CNI_CONTAINERID", "-abc"),
                env("netns path that does not exist", INVALID_ENVIRONMENT, "CNI_NETNS", "/var/run/netns/vt-no-such-ns"),
                env("ifname too long (16 bytes)", INVALID_ENVIRONMENT, "CNI_IFNAME", "eth0123456789abc"),
                env("ifname with a slash", INVALID_ENVIRONMENT, "CNI_IFNAME", "eth/0"),
                env("ifname '..'", INVALID_ENVIRONMENT, "CNI_IFNAME", ".."),
                env("CNI_ARGS not K=V", INVALID_ENVIRONMENT, "CNI_ARGS", "K8S_POD_NAME"),
                stdin("empty stdin", DECODING_FAILURE, ""),
                stdin("blank stdin", DECODING_FAILURE, " \n"),
                stdin("truncated JSON", DECODING_FAILURE, "{\"cniVersion\":\"1.1.0\",\"name\":"),
                stdin("not JSON", DECODING_FAILURE, "cniVersion=1.1.0 name=vsl type=vesicle"),
                stdin("a JSON array", DECODING_FAILURE, "[{\"cniVersion\":\"1.1.0\"}]"),
                with(stdin("DEL of the live pod with garbage on stdin", DECODING_FAILURE, "}{"),
                        "CNI_COMMAND", "DEL", "CNI_CONTAINERID", LIVE),
                config("cniVersion a number", INVALID_CONFIG, c -> c.put("cniVersion", 1.1)),
                config("name a number", INVALID_CONFIG, c -> c.put("name", 7)),
                config("agentSocket an object", INVALID_CONFIG, c -> c.putObject("agentSocket")),
                config("ipam a string", INVALID_CONFIG, c -> c.put("ipam", "host-local")),
                config("ipam without type", INVALID_CONFIG, c -> c.putObject("ipam").put("subnet", "10.1.0.0/24")),
                config("dns a list", INVALID_CONFIG, c -> c.putArray("dns").add("10.0.0.10")),
                config("cniVersion 0.2.0", INCOMPATIBLE_VERSION, c -> c.put("cniVersion", "0.2.0")),
                config("cniVersion 9.9.9", INCOMPATIBLE_VERSION, c -> c.put("cniVersion", "9.9.9")),
                config("unknown ipam type", INVALID_CONFIG, c -> c.putObject("ipam").put("type", "no-such-ipam")),
                with(config("GC with the valid list a string", INVALID_CONFIG,
                        c -> c.put("cni.dev/valid-attachments", "all")),
                        "CNI_COMMAND", "GC", "CNI_CONTAINERID", "", "CNI_NETNS", "", "CNI_IFNAME", "", "CNI_ARGS", "")
        ).map(Arguments::of);
    }

    /** Everything a bad call could have changed, by content, and what the agent says. */
    NodeSnapshot snapshot() {
        return NodeSnapshot.take(node.agent(), Map.of("live", live.netnsPath(), "target", target.netnsPath()))
                .withAgentView(node.agent());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    @Timeout(120)
    void badInputIsRefusedWithItsCodeAndChangesNothing(Row row) {
        Map<String, String> env = new HashMap<>(runtime.env("ADD", target.eth0()));
        row.env().forEach((k, v) -> env.put(k, LIVE.equals(v) ? live.containerID() : v));
        ObjectNode conf = CniRuntime.buildOneConfig(list, list.path("plugins").path(0), null, target.eth0());
        row.config().accept(conf);
        byte[] stdin = row.stdin() != null ? row.stdin().getBytes(StandardCharsets.UTF_8) : CniRuntime.bytes(conf);
        NodeSnapshot before = snapshot();

        CniRuntime.Exec exec = runtime.exec("vesicle", env, stdin, null);
        System.out.printf("%-42s -> %s%n", row.name(), exec.stdout().strip());

        assertFalse(exec.ok(), row.name() + " must fail: " + exec);
        JsonNode error = exec.json();
        assertNotNull(error, "an error document on stdout: " + exec);
        assertEquals(row.code(), error.path("code").asInt(), row.name() + ": " + exec);
        assertTrue(error.hasNonNull("msg") && !error.get("msg").asText().isBlank(), "a msg: " + exec);
        assertTrue(error.hasNonNull("cniVersion"), "a cniVersion: " + exec);
        NodeSnapshot.assertSame(before, snapshot(), row.name());
    }
}
