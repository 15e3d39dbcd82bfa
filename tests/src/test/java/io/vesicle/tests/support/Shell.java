package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the independent witnesses and setup tools tests may use (ip, tc, bpftool, ping, iperf3). */
public final class Shell {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Shell() {
    }

    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }

        public Result orThrow(List<String> command) {
            if (exitCode != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited " + exitCode + ": " + stderr
                        + stdout);
            }
            return this;
        }
    }

    /** Runs command, waiting at most timeoutSeconds; a command still running then is killed. */
    public static Result run(int timeoutSeconds, List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(command);
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            var out = new java.util.concurrent.CompletableFuture<String>();
            var err = new java.util.concurrent.CompletableFuture<String>();
            background(() -> out.complete(read(process.getInputStream())));
            background(() -> err.complete(read(process.getErrorStream())));
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                return new Result(-1, out.getNow(""), "timed out after " + timeoutSeconds + " s: " + command);
            }
            return new Result(process.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new IllegalStateException("running " + command, e);
        }
    }

    public static Result run(String... command) {
        return run(60, List.of(command));
    }

    /** Runs command and fails the caller when it exits non-zero. */
    public static String check(String... command) {
        return run(60, List.of(command)).orThrow(List.of(command)).stdout();
    }

    /** The command prefixed to run in the named namespace (network namespace only, never ip netns exec). */
    public static List<String> inNetns(String netns, String... command) {
        List<String> full = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns, "--"));
        full.addAll(List.of(command));
        return full;
    }

    /**
     * Whether a ping from netns to ip is answered within the bound, by ping's exit code: echo
     * requests every 0.2 s until the first reply or the deadline (-w). Wiring that just finished
     * may need a moment (neighbour resolution, a link coming up).
     */
    public static boolean awaitPing(String netns, String ip, Duration within) {
        int seconds = (int) Math.max(1, within.toSeconds());
        return run(seconds + 10, inNetns(netns, "ping", "-q", "-c", "1", "-i", "0.2", "-w", String.valueOf(seconds),
                ip)).ok();
    }

    /** Whether dev in netns carries the IPv4 address (read from ip's JSON, not its text). */
    public static boolean hasAddress(String netns, String dev, String address) {
        Result r = run(30, List.of("ip", "-j", "-n", netns, "-4", "addr", "show", "dev", dev));
        if (!r.ok()) {
            return false;
        }
        try {
            for (JsonNode link : JSON.readTree(r.stdout())) {
                for (JsonNode addr : link.path("addr_info")) {
                    if (address.equals(addr.path("local").asText())) {
                        return true;
                    }
                }
            }
            return false;
        } catch (IOException e) {
            throw new IllegalStateException("ip printed no JSON: " + r.stdout(), e);
        }
    }

    /** SIGKILL to handle and every descendant it has now, and waits for handle to be gone. */
    public static void killTree(ProcessHandle handle) {
        List<ProcessHandle> descendants = handle.descendants().toList();
        handle.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
        try {
            handle.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Killed with SIGKILL: it goes; a zombie not reaped yet is no longer running.
        }
    }

    private static void background(Runnable task) {
        Thread thread = new Thread(task, "shell-output");
        thread.setDaemon(true);
        thread.start();
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
