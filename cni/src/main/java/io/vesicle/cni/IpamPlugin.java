package io.vesicle.cni;

import io.vesicle.api.Deadline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A delegated IPAM plugin (SPEC.md section 4): the executable named by {@code ipam.type}, found
 * in CNI_PATH, run with the plugin's own environment (CNI_COMMAND set to the operation) and the
 * same configuration on stdin, as libcni's invoke package does.
 *
 * <p>Version: the configuration goes as it came. A plugin that answers error 1 (an older
 * host-local does not know 1.1.0) is asked for VERSION and called again with the newest version
 * both sides speak; its result is read in whatever version it answers. GC and STATUS exist only
 * from 1.1.0: a plugin that does not list 1.1.0 is skipped for them.
 */
final class IpamPlugin {
    private final String type;
    private final Path executable;
    private final Map<String, String> env;
    private final NetworkConfig config;
    private final Duration timeout;
    private final PrintStream log;
    /** The configuration as sent, after a version negotiation if one happened. */
    private byte[] stdin;
    private String version;

    private IpamPlugin(String type, Path executable, Map<String, String> env, NetworkConfig config,
                       Duration timeout, PrintStream log) {
        this.type = type;
        this.executable = executable;
        this.env = env;
        this.config = config;
        this.timeout = timeout;
        this.log = log;
        this.stdin = config.raw();
        this.version = config.cniVersion();
    }

    /** The plugin named by ipam.type: CNI_PATH unset is error 4, no such executable error 7. */
    static IpamPlugin find(CniEnvironment env, NetworkConfig config, Duration timeout, PrintStream log)
            throws CniError {
        String type = config.ipamType();
        if (env.path().isEmpty()) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, CniEnvironment.PATH + " is not set",
                    "it is needed to find the IPAM plugin \"" + type + "\"");
        }
        Path executable = env.findPlugin(type);
        if (executable == null) {
            throw Fields.invalid("ipam.type", "\"" + type + "\" names no executable plugin in " + CniEnvironment.PATH
                    + " " + env.path());
        }
        return new IpamPlugin(type, executable, env.raw(), config, timeout, log);
    }

    String type() {
        return type;
    }

    /** ADD: the plugin's allocation, in the 1.x model. */
    CniResult add() throws CniError {
        byte[] out = negotiated("ADD");
        try {
            return CniResult.parse(Json.parse(new String(out, StandardCharsets.UTF_8)), "result");
        } catch (Json.ParseException | CniError e) {
            throw new CniError(CniError.INTERNAL, "the IPAM plugin \"" + type + "\" returned an unusable result",
                    e.getMessage());
        }
    }

    void del() throws CniError {
        negotiated("DEL");
    }

    void check() throws CniError {
        negotiated("CHECK");
    }

    /** GC when the plugin speaks 1.1.0; false when it was skipped. */
    boolean gc() throws CniError {
        if (!supports(NetworkConfig.CURRENT_VERSION)) {
            log.println("vesicle-cni: IPAM plugin " + type + " does not support CNI 1.1.0; its GC is skipped");
            return false;
        }
        run("GC");
        return true;
    }

    /** STATUS when the plugin speaks 1.1.0; false when it was skipped. */
    boolean status() throws CniError {
        if (!supports(NetworkConfig.CURRENT_VERSION)) {
            return false;
        }
        run("STATUS");
        return true;
    }

    boolean supports(String cniVersion) throws CniError {
        return supportedVersions().contains(cniVersion);
    }

    List<String> supportedVersions() throws CniError {
        Exec exec = exec("VERSION", ("{\"cniVersion\":\"" + config.cniVersion() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        if (exec.exit != 0) {
            throw failure(exec, "VERSION");
        }
        try {
            Map<String, Object> m = Fields.object(Json.parse(new String(exec.stdout, StandardCharsets.UTF_8)),
                    "VERSION result");
            return Fields.optionalStrings(m, "supportedVersions", "");
        } catch (Json.ParseException | CniError e) {
            throw new CniError(CniError.INTERNAL, "the IPAM plugin \"" + type + "\" answered VERSION with an"
                    + " unusable document", e.getMessage());
        }
    }

    /** The command, retried once in an older version when the plugin refuses the config's. */
    private byte[] negotiated(String command) throws CniError {
        Exec exec = exec(command, stdin);
        if (exec.exit == 0) {
            return exec.stdout;
        }
        CniError error = failure(exec, command);
        if (error.code() != CniError.INCOMPATIBLE_VERSION || !version.equals(config.cniVersion())) {
            throw error;
        }
        List<String> theirs = supportedVersions();
        String common = null;
        for (String v : NetworkConfig.SUPPORTED_VERSIONS) {
            if (theirs.contains(v) && !v.equals(version)) {
                common = v;
            }
        }
        if (common == null) {
            throw error;
        }
        Map<String, Object> copy = new LinkedHashMap<>(config.json());
        copy.put("cniVersion", common);
        stdin = Json.write(copy).getBytes(StandardCharsets.UTF_8);
        version = common;
        exec = exec(command, stdin);
        if (exec.exit != 0) {
            throw failure(exec, command);
        }
        return exec.stdout;
    }

    private void run(String command) throws CniError {
        Exec exec = exec(command, stdin);
        if (exec.exit != 0) {
            throw failure(exec, command);
        }
    }

    /** The plugin's own error passed on as it is (code, msg, details), or 999 if it wrote none. */
    private CniError failure(Exec exec, String command) {
        String text = new String(exec.stdout, StandardCharsets.UTF_8);
        try {
            Map<String, Object> m = Fields.object(Json.parse(text), "error");
            Integer code = Fields.optionalInt(m, "code", "");
            String msg = Fields.optionalString(m, "msg", "");
            if (code != null && msg != null) {
                return new CniError(code, msg, Fields.optionalString(m, "details", ""));
            }
        } catch (Json.ParseException | CniError e) {
            // Not an error document: reported below with what the plugin printed.
        }
        return new CniError(CniError.INTERNAL, "the IPAM plugin \"" + type + "\" failed " + command
                + " with exit status " + exec.exit, text.isBlank() ? null : text.strip());
    }

    private record Exec(int exit, byte[] stdout) {
    }

    private Exec exec(String command, byte[] input) throws CniError {
        ProcessBuilder builder = new ProcessBuilder(executable.toString());
        Map<String, String> childEnv = builder.environment();
        childEnv.clear();
        childEnv.putAll(env);
        childEnv.put(CniEnvironment.COMMAND, command);
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new CniError(CniError.INTERNAL, "cannot run the IPAM plugin " + executable, e.getMessage());
        }
        Deadline deadline = Deadline.start(timeout, process::destroyForcibly);
        try {
            try (OutputStream in = process.getOutputStream()) {
                in.write(input);
            } catch (IOException e) {
                // The plugin exited without reading its stdin; its exit status tells the rest.
            }
            byte[] out;
            try (InputStream stdout = process.getInputStream()) {
                out = stdout.readAllBytes();
            }
            process.waitFor();
            if (deadline.expired()) {
                throw new CniError(CniError.INTERNAL, "the IPAM plugin " + executable + " did not finish "
                        + command + " within " + timeout.toMillis() + " ms");
            }
            return new Exec(process.exitValue(), out);
        } catch (IOException e) {
            throw new CniError(CniError.INTERNAL, "cannot read the IPAM plugin " + executable, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new CniError(CniError.INTERNAL, "interrupted while running the IPAM plugin " + executable);
        } finally {
            deadline.cancel();
        }
    }
}
