package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A container runtime's side of CNI, as libcni (containernetworking/cni, libcni/api.go and
 * pkg/invoke) does it, so that the plugins are exec'd exactly as on a node:
 * <ul>
 * <li>each plugin is found by its {@code type} in CNI_PATH (a directory of this runtime holding
 * {@code vesicle} → bin/vesicle-cni and the reference plugins of /usr/lib/cni) and exec'd with the
 * runtime's environment plus CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_ARGS, CNI_IFNAME and
 * CNI_PATH, all six always set (empty when they do not apply), and its config on stdin;</li>
 * <li>each plugin's config is the list's element with the list's {@code name} and
 * {@code cniVersion} injected, {@code prevResult} (the previous plugin's result on ADD, the
 * cached result on CHECK and DEL from 0.4.0 on), and {@code runtimeConfig} holding the
 * capability arguments the plugin declares in {@code capabilities};</li>
 * <li>ADD runs the plugins in order and caches the last result with the list and the runtime
 * arguments ({@code results/<network>-<containerID>-<ifname>} under the cache directory, kind
 * {@code cniCacheV1}); DEL runs them in reverse order and drops the cache entry; CHECK (from
 * 0.4.0) runs them in order;</li>
 * <li>GC first DELs every cached attachment of the network not in the valid list, then (from
 * 1.1.0) execs each plugin with command GC and {@code cni.dev/valid-attachments}; STATUS (from
 * 1.1.0) execs each plugin in order and stops at the first failure.</li>
 * </ul>
 * The plugins run in the runtime's network namespace: a node namespace the test created (via
 * {@code nsenter --net}), never the root namespace, since portmap writes its rules where it runs.
 * Results are not converted between versions (libcni converts to the list's version; the
 * plugins used here answer in it already).
 */
public final class CniRuntime {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** Reference plugins linked into CNI_PATH beside ours. */
    public static final List<String> REFERENCE_PLUGINS = List.of("host-local", "tuning", "portmap", "bandwidth",
            "loopback", "ptp");
    private static final Path REFERENCE_DIR = Path.of("/usr/lib/cni");
    private static final String CACHE_KIND = "cniCacheV1";

    private final TestNetwork network;
    private final String runtimeNetns;
    private final Path pluginDir;
    private final Path cacheDir;
    /** bin/vesicle-cni's own limit on its agent call (cni's Main.TIMEOUT). */
    public static final Duration PLUGIN_LIMIT = Duration.ofSeconds(30);
    /**
     * The longest an exec may take: the plugin's limit plus the start of its JVM on a busy
     * machine. An exec still running then is hung, killed, and fails the test.
     */
    public static final Duration EXEC_LIMIT = PLUGIN_LIMIT.plusSeconds(15);

    private volatile Duration timeout = EXEC_LIMIT;
    private volatile java.util.function.Consumer<Exec> observer = exec -> { };

    /** A runtime whose plugins run in runtimeNetns (a namespace of network). */
    public CniRuntime(TestNetwork network, String runtimeNetns) {
        this.network = network;
        this.runtimeNetns = runtimeNetns;
        // One runtime per node namespace: its directories carry the namespace's short name.
        String node = runtimeNetns.substring(runtimeNetns.lastIndexOf('-') + 1);
        this.pluginDir = network.tempDir("cni-bin-" + node);
        this.cacheDir = network.tempDir("cni-cache-" + node);
        try {
            Files.createSymbolicLink(pluginDir.resolve("vesicle"), Repo.vesicleCni());
            for (String plugin : REFERENCE_PLUGINS) {
                Files.createSymbolicLink(pluginDir.resolve(plugin), REFERENCE_DIR.resolve(plugin));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot fill " + pluginDir, e);
        }
    }

    /** CNI_PATH. */
    public Path pluginDir() {
        return pluginDir;
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** The longest a single plugin exec may take before it is killed (default EXEC_LIMIT). */
    public void timeout(Duration timeout) {
        this.timeout = timeout;
    }

    /** Called with every plugin exec once it has ended (from the thread that ran it), e.g. to time them. */
    public void observe(java.util.function.Consumer<Exec> observer) {
        this.observer = observer;
    }

    /** The runtime's arguments for one attachment (libcni's RuntimeConf). */
    public record Attachment(String containerID, String netns, String ifname, List<String[]> args,
                             Map<String, Object> capabilityArgs) {
        /** A Kubernetes pod's attachment as the kubelet's runtime builds it (CNI_ARGS with the K8S_ keys). */
        public static Attachment pod(String containerID, String netnsPath, String ifname, String podNamespace,
                                     String podName) {
            List<String[]> args = List.of(new String[] {"IgnoreUnknown", "1"},
                    new String[] {"K8S_POD_NAMESPACE", podNamespace}, new String[] {"K8S_POD_NAME", podName},
                    new String[] {"K8S_POD_INFRA_CONTAINER_ID", containerID});
            return new Attachment(containerID, netnsPath, ifname, args, Map.of());
        }

        public Attachment withCapability(String name, Object value) {
            Map<String, Object> caps = new LinkedHashMap<>(capabilityArgs);
            caps.put(name, value);
            return new Attachment(containerID, netns, ifname, args, caps);
        }

        /** CNI_ARGS as libcni writes it: K=V pairs joined with ';'. */
        public String argsString() {
            return String.join(";", args.stream().map(kv -> kv[0] + "=" + kv[1]).toList());
        }
    }

    /** One plugin exec: how it ended, what it printed, how long it took from exec to exit. */
    public record Exec(String plugin, String command, int exitCode, String stdout, String stderr, long nanos,
                       boolean killed) {
        public boolean ok() {
            return exitCode == 0 && !killed;
        }

        /** stdout as JSON, or null when it is not JSON. */
        public JsonNode json() {
            try {
                return stdout.isBlank() ? null : JSON.readTree(stdout);
            } catch (IOException e) {
                return null;
            }
        }

        /** The CNI error code printed on stdout, or -1 when there is none. */
        public int errorCode() {
            JsonNode json = json();
            return json != null && json.has("code") ? json.get("code").asInt(-1) : -1;
        }

        public double millis() {
            return nanos / 1e6;
        }

        @Override
        public String toString() {
            return plugin + " " + command + (killed ? " killed" : " exited " + exitCode) + " in "
                    + String.format("%.1f ms", millis()) + (stdout.isBlank() ? "" : "; stdout: " + stdout.strip())
                    + (stderr.isBlank() ? "" : "; stderr: " + stderr.strip());
        }
    }

    /** A plugin failed (non-zero exit, killed, or output that is not a result); carries its exec. */
    public static final class PluginException extends RuntimeException {
        private final Exec exec;

        public PluginException(String message, Exec exec) {
            super(message + ": " + exec);
            this.exec = exec;
        }

        public Exec exec() {
            return exec;
        }

        /** The CNI error code, -1 when the plugin printed none (e.g. killed). */
        public int code() {
            return exec.errorCode();
        }
    }

    // ---- the operations on a network configuration list (libcni's *NetworkList)

    /** ADD through every plugin in order; caches and returns the last result. */
    public JsonNode add(JsonNode list, Attachment rt) {
        return add(list, rt, null);
    }

    /** ADD, each plugin exec killed (SIGKILL) if still running after killAfter (null: never). */
    public JsonNode add(JsonNode list, Attachment rt, Duration killAfter) {
        JsonNode result = null;
        for (JsonNode plugin : plugins(list)) {
            ObjectNode conf = buildOneConfig(list, plugin, result, rt);
            Exec exec = exec(type(plugin), env("ADD", rt), bytes(conf), killAfter);
            if (!exec.ok()) {
                throw new PluginException("plugin type=\"" + type(plugin) + "\" failed (add)", exec);
            }
            result = exec.json();
            if (result == null || !result.isObject()) {
                throw new PluginException("plugin type=\"" + type(plugin) + "\" printed no result (add)", exec);
            }
        }
        cacheAdd(list, rt, result);
        return result;
    }

    /** CHECK (0.4.0 and later) through every plugin in order, each given the cached result. */
    public void check(JsonNode list, Attachment rt) {
        if (compare(version(list), "0.4.0") < 0) {
            throw new IllegalArgumentException("configuration version " + version(list)
                    + " does not support the CHECK command");
        }
        if (list.path("disableCheck").asBoolean(false)) {
            return;
        }
        JsonNode cached = cachedResult(list, rt).orElse(null);
        for (JsonNode plugin : plugins(list)) {
            Exec exec = exec(type(plugin), env("CHECK", rt), bytes(buildOneConfig(list, plugin, cached, rt)), null);
            if (!exec.ok()) {
                throw new PluginException("plugin type=\"" + type(plugin) + "\" failed (check)", exec);
            }
        }
    }

    /** DEL through every plugin in reverse order, each given the cached result (0.4.0 and later). */
    public void del(JsonNode list, Attachment rt) {
        del(list, rt, null);
    }

    public void del(JsonNode list, Attachment rt, Duration killAfter) {
        JsonNode cached = compare(version(list), "0.4.0") >= 0 ? cachedResult(list, rt).orElse(null) : null;
        List<JsonNode> plugins = plugins(list);
        for (int i = plugins.size() - 1; i >= 0; i--) {
            JsonNode plugin = plugins.get(i);
            Exec exec = exec(type(plugin), env("DEL", rt), bytes(buildOneConfig(list, plugin, cached, rt)), killAfter);
            if (!exec.ok()) {
                throw new PluginException("plugin type=\"" + type(plugin) + "\" failed (delete)", exec);
            }
        }
        if (cached != null) {
            forget(list, rt);
        }
    }

    /**
     * GC: DELs the cached attachments of this network that are not in valid, then (1.1.0 and
     * later) execs each plugin with command GC and the valid attachments.
     */
    public void gc(JsonNode list, List<Attachment> valid) {
        List<String> errors = new ArrayList<>();
        for (Attachment cached : cachedAttachments(list)) {
            boolean isValid = valid.stream().anyMatch(v -> v.containerID().equals(cached.containerID())
                    && v.ifname().equals(cached.ifname()));
            if (!isValid) {
                try {
                    del(list, cached);
                } catch (PluginException e) {
                    errors.add("failed to delete stale attachment " + cached.containerID() + " " + cached.ifname()
                            + ": " + e.getMessage());
                }
            }
        }
        if (compare(version(list), "1.1.0") >= 0) {
            ArrayNode attachments = JSON.createArrayNode();
            for (Attachment v : valid) {
                attachments.addObject().put("containerID", v.containerID()).put("ifname", v.ifname());
            }
            for (JsonNode plugin : plugins(list)) {
                ObjectNode conf = plugin.deepCopy();
                conf.put("name", list.path("name").asText());
                conf.put("cniVersion", version(list));
                conf.set("cni.dev/valid-attachments", attachments);
                Exec exec = exec(type(plugin), env("GC", null), bytes(conf), null);
                if (!exec.ok()) {
                    errors.add("failed to GC plugin " + type(plugin) + ": " + exec);
                }
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException(String.join("; ", errors));
        }
    }

    /** STATUS (1.1.0 and later) of each plugin in order; the first failure is thrown. */
    public void status(JsonNode list) {
        if (compare(version(list), "1.1.0") < 0) {
            return;
        }
        for (JsonNode plugin : plugins(list)) {
            ObjectNode conf = plugin.deepCopy();
            conf.put("name", list.path("name").asText());
            conf.put("cniVersion", version(list));
            Exec exec = exec(type(plugin), env("STATUS", null), bytes(conf), null);
            if (!exec.ok()) {
                throw new PluginException("plugin type=\"" + type(plugin) + "\" failed (status)", exec);
            }
        }
    }

    // ---- libcni's result cache

    private Path cacheFile(JsonNode list, Attachment rt) {
        return cacheDir.resolve("results").resolve(list.path("name").asText() + "-" + rt.containerID() + "-"
                + rt.ifname());
    }

    private void cacheAdd(JsonNode list, Attachment rt, JsonNode result) {
        ObjectNode cached = JSON.createObjectNode();
        cached.put("kind", CACHE_KIND);
        cached.put("containerId", rt.containerID());
        cached.put("config", Base64.getEncoder().encodeToString(bytes(list))); // Go's []byte
        cached.put("ifName", rt.ifname());
        cached.put("networkName", list.path("name").asText());
        cached.put("netns", rt.netns());
        ArrayNode args = cached.putArray("cniArgs");
        rt.args().forEach(kv -> args.addArray().add(kv[0]).add(kv[1]));
        if (!rt.capabilityArgs().isEmpty()) {
            cached.set("capabilityArgs", JSON.valueToTree(rt.capabilityArgs()));
        }
        cached.set("result", result);
        try {
            Path file = cacheFile(list, rt);
            Files.createDirectories(file.getParent());
            Files.write(file, bytes(cached));
        } catch (IOException e) {
            throw new IllegalStateException("failed to set network cached result", e);
        }
    }

    /** The result cached by the last successful ADD of this attachment. */
    public Optional<JsonNode> cachedResult(JsonNode list, Attachment rt) {
        Path file = cacheFile(list, rt);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(JSON.readTree(file.toFile()).get("result"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }

    /** The attachments of this network in the cache, with their runtime arguments. */
    public List<Attachment> cachedAttachments(JsonNode list) {
        Path results = cacheDir.resolve("results");
        if (!Files.isDirectory(results)) {
            return List.of();
        }
        List<Attachment> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(results)) {
            for (Path file : files.sorted().toList()) {
                JsonNode c = JSON.readTree(file.toFile());
                if (!CACHE_KIND.equals(c.path("kind").asText())
                        || !list.path("name").asText().equals(c.path("networkName").asText())) {
                    continue;
                }
                List<String[]> args = new ArrayList<>();
                c.path("cniArgs").forEach(kv -> args.add(new String[] {kv.get(0).asText(), kv.get(1).asText()}));
                @SuppressWarnings("unchecked")
                Map<String, Object> caps = c.has("capabilityArgs")
                        ? JSON.convertValue(c.get("capabilityArgs"), Map.class) : Map.of();
                out.add(new Attachment(c.path("containerId").asText(), c.path("netns").asText(),
                        c.path("ifName").asText(), args, caps));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the cache " + results, e);
        }
        return out;
    }

    /** Drops the cache entry of an attachment, as libcni does after DEL (or as a lost cache would). */
    public void forget(JsonNode list, Attachment rt) {
        try {
            Files.deleteIfExists(cacheFile(list, rt));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- building configs and environments

    /** libcni's buildOneConfig: name, cniVersion, prevResult and runtimeConfig injected into one plugin's config. */
    public static ObjectNode buildOneConfig(JsonNode list, JsonNode plugin, JsonNode prevResult, Attachment rt) {
        ObjectNode conf = plugin.deepCopy();
        conf.put("name", list.path("name").asText());
        conf.put("cniVersion", version(list));
        if (prevResult != null) {
            conf.set("prevResult", prevResult);
        }
        if (rt != null) {
            ObjectNode runtimeConfig = JSON.createObjectNode();
            plugin.path("capabilities").fields().forEachRemaining(cap -> {
                if (cap.getValue().asBoolean(false) && rt.capabilityArgs().containsKey(cap.getKey())) {
                    runtimeConfig.set(cap.getKey(), JSON.valueToTree(rt.capabilityArgs().get(cap.getKey())));
                }
            });
            if (runtimeConfig.size() > 0) {
                conf.set("runtimeConfig", runtimeConfig);
            }
        }
        return conf;
    }

    /** The six variables libcni sets for command (rt null: GC and STATUS, which have none of its fields). */
    public Map<String, String> env(String command, Attachment rt) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", rt == null ? "" : rt.containerID());
        env.put("CNI_NETNS", rt == null || rt.netns() == null ? "" : rt.netns());
        env.put("CNI_ARGS", rt == null ? "" : rt.argsString());
        env.put("CNI_IFNAME", rt == null ? "" : rt.ifname());
        env.put("CNI_PATH", pluginDir.toString());
        return env;
    }

    /**
     * Execs the plugin named type from CNI_PATH in the runtime's namespace with the inherited
     * environment plus env (a null value removes the variable), stdin as its input, and waits
     * for it to exit, killing it (and its descendants) with SIGKILL after killAfter (null:
     * never) or after the runtime's timeout. Times from exec to exit.
     */
    public Exec exec(String type, Map<String, String> env, byte[] stdin, Duration killAfter) {
        Path binary = pluginDir.resolve(type);
        if (!Files.exists(binary)) {
            throw new IllegalArgumentException("failed to find plugin \"" + type + "\" in path [" + pluginDir + "]");
        }
        ProcessBuilder builder = new ProcessBuilder(Shell.inNetns(runtimeNetns, binary.toString()));
        Map<String, String> environment = builder.environment();
        env.forEach((k, v) -> {
            if (v == null) {
                environment.remove(k);
            } else {
                environment.put(k, v);
            }
        });
        long start = System.nanoTime();
        Process process;
        try {
            process = network.own(builder.start());
        } catch (IOException e) {
            throw new IllegalStateException("cannot exec " + binary + ": " + e.getMessage(), e);
        }
        CompletableFuture<String> out = drain(process.getInputStream());
        CompletableFuture<String> err = drain(process.getErrorStream());
        try (OutputStream in = process.getOutputStream()) {
            in.write(stdin);
        } catch (IOException e) {
            // The plugin exited without reading its input; its exit code says why.
        }
        boolean killed = false;
        try {
            Duration limit = killAfter != null && killAfter.compareTo(timeout) < 0 ? killAfter : timeout;
            if (!process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS)) {
                Shell.killTree(process.toHandle());
                killed = true;
                if (killAfter == null || killAfter.compareTo(timeout) >= 0) {
                    throw new IllegalStateException(type + " " + env.get("CNI_COMMAND") + " still running after "
                            + timeout + ", killed; stderr: " + err.getNow(""));
                }
            }
            long nanos = System.nanoTime() - start;
            network.release(process);
            Exec exec = new Exec(type, env.getOrDefault("CNI_COMMAND", "(none)"), killed ? -9 : process.exitValue(),
                    out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS), nanos, killed);
            observer.accept(exec);
            return exec;
        } catch (InterruptedException e) {
            Shell.killTree(process.toHandle());
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot read the output of " + type, e);
        }
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        CompletableFuture<String> text = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (stream) {
                text.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                text.complete("");
            }
        }, "cni-plugin-output");
        t.setDaemon(true);
        t.start();
        return text;
    }

    private static List<JsonNode> plugins(JsonNode list) {
        List<JsonNode> plugins = new ArrayList<>();
        list.path("plugins").forEach(plugins::add);
        if (plugins.isEmpty()) {
            throw new IllegalArgumentException("no plugins in " + list);
        }
        return plugins;
    }

    private static String type(JsonNode plugin) {
        return plugin.path("type").asText();
    }

    private static String version(JsonNode list) {
        return list.path("cniVersion").asText();
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compares dotted versions numerically ("0.4.0" < "1.1.0"). */
    static int compare(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int d = Integer.compare(i < x.length ? Integer.parseInt(x[i]) : 0, i < y.length ? Integer.parseInt(y[i]) : 0);
            if (d != 0) {
                return d;
            }
        }
        return 0;
    }
}
