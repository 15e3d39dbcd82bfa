package io.vesicle.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Runs the plugin in-process, as a runtime would exec it, and keeps what it printed. */
final class Plugin {
    static final String NETNS = "/proc/self/ns/net";

    private Plugin() {
    }

    record Outcome(int exit, String stdout, String stderr) {
        JsonNode json() {
            try {
                return new ObjectMapper().readTree(stdout);
            } catch (IOException e) {
                throw new UncheckedIOException("stdout is not JSON: " + stdout, e);
            }
        }

        int code() {
            return json().get("code").asInt();
        }

        String msg() {
            return json().get("msg").asText();
        }

        @Override
        public String toString() {
            return "exit " + exit + ", stdout " + stdout + ", stderr " + stderr;
        }
    }

    static Map<String, String> env(String command, String containerId) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_NETNS", NETNS);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_UID=u1");
        env.put("CNI_PATH", "/opt/cni/bin");
        return env;
    }

    /** A network configuration; extra is spliced in as members ("\"ipam\":{...}"), may be empty. */
    static String config(String version, Path socket, String extra) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"vesicle\",\"type\":\"vesicle\",\"agentSocket\":\""
                + socket + "\"" + (extra == null || extra.isEmpty() ? "" : "," + extra) + "}";
    }

    static Outcome run(Map<String, String> env, String stdin) {
        return run(env, stdin, Main.TIMEOUT);
    }

    static Outcome run(Map<String, String> env, String stdin, Duration timeout) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), out,
                new PrintStream(err, true, StandardCharsets.UTF_8), timeout);
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
