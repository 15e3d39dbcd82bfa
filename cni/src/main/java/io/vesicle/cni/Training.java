package io.vesicle.cni;

import io.vesicle.api.ApiPaths;
import io.vesicle.api.Http;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The build's AppCDS training run ({@code VESICLE_CNI_TRAINING=1}): every command through
 * {@link Main#run} against a {@link FakeAgent} on a temporary socket, so that the classes a real
 * call loads (JSON, results in every version, unix socket client, errors) land in the archive.
 * It touches nothing but its temporary directory, which it removes.
 */
final class Training {
    private Training() {
    }

    static final String ENDPOINT = "{\"id\":1,\"containerID\":\"training\",\"ifname\":\"eth0\","
            + "\"netns\":\"/proc/self/ns/net\",\"podNamespace\":\"default\",\"podName\":\"training\","
            + "\"hostIf\":\"lxc0123456789a\",\"hostMac\":\"02:00:00:00:00:01\",\"mac\":\"02:00:00:00:00:02\","
            + "\"address\":\"10.244.0.2/24\",\"gateway\":\"10.244.0.1\",\"mtu\":1450,\"ipamOwned\":true}";

    static int run(PrintStream log) {
        Path dir = null;
        try {
            Main.warmUpSockets();
            dir = Files.createTempDirectory("vesicle-cni-training");
            try (FakeAgent agent = new FakeAgent(dir.resolve("agent.sock"), Training::answer)) {
                int failures = 0;
                for (String version : NetworkConfig.SUPPORTED_VERSIONS) {
                    failures += call("ADD", config(agent.socket(), version, null)) == 0 ? 0 : 1;
                }
                String prev = "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"lxc0123456789a\","
                        + "\"mac\":\"02:00:00:00:00:01\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\","
                        + "\"sandbox\":\"/proc/self/ns/net\"}],\"ips\":[{\"interface\":1,\"address\":\"10.244.0.2/24\","
                        + "\"gateway\":\"10.244.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"}],"
                        + "\"dns\":{}}";
                failures += call("CHECK", config(agent.socket(), "1.1.0", prev)) == 0 ? 0 : 1;
                failures += call("ADD", config(agent.socket(), "1.1.0", prev)) == 0 ? 0 : 1;
                failures += call("DEL", config(agent.socket(), "1.1.0", null)) == 0 ? 0 : 1;
                failures += call("STATUS", config(agent.socket(), "1.1.0", null)) == 0 ? 0 : 1;
                failures += call("GC", config(agent.socket(), "1.1.0", null)) == 0 ? 0 : 1;
                failures += call("VERSION", "") == 0 ? 0 : 1;
                // The error path: an undecodable configuration.
                failures += call("ADD", "{") == 1 ? 0 : 1;
                if (failures != 0) {
                    log.println("vesicle-cni training: " + failures + " calls did not go as expected");
                    return 1;
                }
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            log.println("vesicle-cni training failed: " + e);
            return 1;
        } finally {
            if (dir != null) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // Only the temporary directory is left.
                }
            }
        }
    }

    private static String config(Path socket, String version, String prevResult) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"training\",\"type\":\"vesicle\",\"agentSocket\":\""
                + socket + "\",\"ipam\":{\"type\":\"vesicle\"},\"dns\":{\"nameservers\":[\"10.96.0.10\"],"
                + "\"search\":[\"default.svc.cluster.local\"]},"
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"training\",\"ifname\":\"eth0\"}]"
                + (prevResult == null ? "" : ",\"prevResult\":" + prevResult) + "}";
    }

    private static int call(String command, String stdin) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "training");
        env.put("CNI_NETNS", "/proc/self/ns/net");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=training");
        env.put("CNI_PATH", "/opt/cni/bin");
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        return Main.run(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), sink,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), Duration.ofSeconds(5));
    }

    private static Http.Response answer(Http.Request request) {
        String path = request.path();
        String body;
        if (path.equals(ApiPaths.HEALTHZ)) {
            body = "{\"status\":\"ok\"}";
        } else if (path.equals(ApiPaths.GC)) {
            body = "{\"removed\":[]}";
        } else if (path.endsWith("/check")) {
            body = "{\"ok\":true}";
        } else if (request.method().equals("DELETE")) {
            body = "{\"deleted\":true}";
        } else {
            body = ENDPOINT;
        }
        return new Http.Response(200, body.getBytes(StandardCharsets.UTF_8));
    }
}
