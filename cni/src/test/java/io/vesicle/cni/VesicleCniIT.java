package io.vesicle.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/vesicle-cni exec'd as libcni does (through a symlink in a CNI_PATH directory, a clean
 * environment, the configuration on stdin): stdout holds exactly one JSON document or nothing.
 */
class VesicleCniIT {
    static final Path WRAPPER = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("../bin/vesicle-cni").normalize();

    @TempDir
    Path dir;
    Path plugin;

    record Exec(int exit, String stdout, String stderr) {
        JsonNode json() throws IOException {
            return new ObjectMapper().readTree(stdout);
        }
    }

    @BeforeEach
    void install() throws IOException {
        Path bin = Files.createDirectories(dir.resolve("opt-cni-bin"));
        plugin = Files.createSymbolicLink(bin.resolve("vesicle"), WRAPPER);
    }

    Exec exec(Map<String, String> env, String stdin) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(plugin.toString());
        builder.environment().clear();
        builder.environment().put("PATH", System.getenv("PATH"));
        builder.environment().putAll(env);
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process process = builder.start();
        process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the plugin did not exit");
        return new Exec(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void versionThroughASymlink() throws Exception {
        Exec r = exec(Map.of("CNI_COMMAND", "VERSION"), "");
        assertEquals(0, r.exit, r.stderr);
        assertEquals(MainTest.VERSION, r.stdout);
    }

    @Test
    void badInputIsOneErrorDocumentAndExitStatus1() throws Exception {
        Map<String, String> env = new HashMap<>(Plugin.env("ADD", "c1"));
        Exec r = exec(env, "this is not a network configuration");
        assertEquals(1, r.exit);
        assertEquals(1, r.stdout.lines().count(), r.stdout);
        assertEquals(6, r.json().get("code").asInt());
        assertEquals("1.1.0", r.json().get("cniVersion").asText());

        r = exec(Map.of("CNI_COMMAND", "ADD"), "{}");
        assertEquals(1, r.exit);
        assertEquals(4, r.json().get("code").asInt());
        assertTrue(r.json().get("msg").asText().contains("CNI_CONTAINERID"), r.stdout);
    }

    /** Unified logging writes warnings to stdout by default; the wrapper sends them to stderr. */
    @Test
    void aStaleArchiveWarnsOnStderrOnly() throws Exception {
        // An archive whose class path is not the wrapper's: the JVM refuses it and says so.
        Path jar = Files.copy(WRAPPER.getParent().resolve("../cni/target/vesicle-cni.jar").normalize(),
                dir.resolve("copy.jar"));
        Path archive = dir.resolve("stale.jsa");
        Process dump = new ProcessBuilder("java", "-XX:ArchiveClassesAtExit=" + archive, "-cp", jar.toString(),
                "io.vesicle.cni.Main").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        dump.getOutputStream().close();
        assertTrue(dump.waitFor(60, TimeUnit.SECONDS));
        assertTrue(Files.exists(archive));
        Exec r = exec(Map.of("CNI_COMMAND", "VERSION", "VESICLE_CNI_JAVA_OPTS", "-XX:SharedArchiveFile=" + archive), "");
        assertEquals(0, r.exit, r.stderr);
        assertEquals(MainTest.VERSION, r.stdout);
        assertTrue(r.stderr.contains("Unable to use shared archive"), "the case was exercised: " + r.stderr);
    }

    @Test
    void addAndDelAgainstAnAgent() throws Exception {
        try (AgentStub agent = new AgentStub(dir)) {
            String config = Plugin.config("1.0.0", agent.socket(), "");
            Exec r = exec(Plugin.env("ADD", "c1"), config);
            assertEquals(0, r.exit, r.stdout + r.stderr);
            assertEquals(1, r.stdout.lines().count(), r.stdout);
            assertEquals("10.244.1.2/24", r.json().get("ips").get(0).get("address").asText());
            assertEquals("web-1", agent.body(0).get("podName").asText());
            r = exec(Plugin.env("DEL", "c1"), config);
            assertEquals(0, r.exit, r.stdout + r.stderr);
            assertEquals("", r.stdout);
        }
    }

    /**
     * First in a conflist, followed by the reference tuning, portmap and bandwidth plugins (as
     * Debian ships them: spec up to 1.0.0), each configured to change nothing, so that they only
     * read and pass on the result; CHECK then takes the chain's final result as prevResult.
     */
    @Test
    void firstInAChainOfReferencePlugins() throws Exception {
        Path referenceDir = Path.of("/usr/lib/cni");
        assumeTrue(Files.isExecutable(referenceDir.resolve("tuning")), "containernetworking-plugins is not installed");
        ObjectMapper json = new ObjectMapper();
        try (AgentStub agent = new AgentStub(dir)) {
            for (String version : new String[] {"0.3.1", "0.4.0", "1.0.0"}) {
                String id = "chain" + version.replace(".", "");
                Exec r = exec(Plugin.env("ADD", id), Plugin.config(version, agent.socket(), ""));
                assertEquals(0, r.exit, r.stdout + r.stderr);
                JsonNode ours = r.json();
                String result = r.stdout;
                for (String next : new String[] {"tuning", "portmap", "bandwidth"}) {
                    ObjectNode conf = json.createObjectNode();
                    conf.put("cniVersion", version).put("name", "vesicle").put("type", next);
                    conf.set("prevResult", json.readTree(result));
                    Exec chained = execPlugin(referenceDir.resolve(next), Plugin.env("ADD", id), conf.toString());
                    assertEquals(0, chained.exit, next + ": " + chained.stdout + chained.stderr);
                    JsonNode out = chained.json();
                    assertEquals(version, out.get("cniVersion").asText(), next);
                    assertEquals(ours.get("ips"), out.get("ips"), next + " passed our addresses on");
                    assertEquals(ours.get("routes"), out.get("routes"), next);
                    result = chained.stdout;
                }
                if (!version.equals("0.3.1")) {
                    Exec check = exec(Plugin.env("CHECK", id), Plugin.config(version, agent.socket(),
                            "\"prevResult\":" + result.strip()));
                    assertEquals(0, check.exit, check.stdout + check.stderr);
                }
            }
        }
    }

    Exec execPlugin(Path executable, Map<String, String> env, String stdin) throws Exception {
        Path saved = plugin;
        plugin = executable;
        try {
            Map<String, String> withPath = new HashMap<>(env);
            withPath.put("CNI_PATH", executable.getParent().toString());
            return exec(withPath, stdin);
        } finally {
            plugin = saved;
        }
    }
}
