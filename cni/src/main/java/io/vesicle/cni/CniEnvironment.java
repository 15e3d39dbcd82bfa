package io.vesicle.cni;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CNI_* parameters of one invocation, checked for the command: which variables it needs
 * (SPEC.md, section 2), their syntax, and for ADD and CHECK that CNI_NETNS exists. Every
 * failure is error 4 and names the variable.
 */
final class CniEnvironment {
    enum Command { ADD, DEL, CHECK, STATUS, GC, VERSION }

    static final String COMMAND = "CNI_COMMAND";
    static final String CONTAINERID = "CNI_CONTAINERID";
    static final String NETNS = "CNI_NETNS";
    static final String IFNAME = "CNI_IFNAME";
    static final String ARGS = "CNI_ARGS";
    static final String PATH = "CNI_PATH";

    /** Linux's IFNAMSIZ less the terminating NUL. */
    static final int MAX_IFNAME_BYTES = 15;

    private final Command command;
    private final String containerId;
    private final String netns;
    private final String ifname;
    private final Map<String, String> args;
    private final List<String> path;
    private final Map<String, String> raw;

    private CniEnvironment(Command command, String containerId, String netns, String ifname,
                           Map<String, String> args, List<String> path, Map<String, String> raw) {
        this.command = command;
        this.containerId = containerId;
        this.netns = netns;
        this.ifname = ifname;
        this.args = args;
        this.path = path;
        this.raw = raw;
    }

    /** Only CNI_COMMAND: what VERSION needs, and what decides which others are required. */
    static Command command(Map<String, String> env) throws CniError {
        String value = env.get(COMMAND);
        if (value == null || value.isEmpty()) {
            throw invalid(COMMAND + " is not set", "set it to one of ADD, DEL, CHECK, STATUS, GC, VERSION");
        }
        switch (value) {
            case "ADD": return Command.ADD;
            case "DEL": return Command.DEL;
            case "CHECK": return Command.CHECK;
            case "STATUS": return Command.STATUS;
            case "GC": return Command.GC;
            case "VERSION": return Command.VERSION;
            default:
                throw invalid(COMMAND + " has an unknown command \"" + value + "\"",
                        "expected one of ADD, DEL, CHECK, STATUS, GC, VERSION");
        }
    }

    static CniEnvironment parse(Map<String, String> env) throws CniError {
        Command command = command(env);
        boolean attachment = command == Command.ADD || command == Command.DEL || command == Command.CHECK;
        String containerId = null;
        String ifname = null;
        String netns = null;
        if (attachment) {
            containerId = required(env, CONTAINERID, command);
            checkContainerId(containerId);
            ifname = required(env, IFNAME, command);
            checkIfname(ifname);
            if (command == Command.DEL) {
                netns = optional(env, NETNS);
            } else {
                netns = required(env, NETNS, command);
                if (!Files.exists(Paths.get(netns))) {
                    throw invalid(NETNS + " \"" + netns + "\" does not exist",
                            "the container's network namespace must exist for " + command);
                }
            }
        }
        String cniPath = command == Command.GC ? required(env, PATH, command) : optional(env, PATH);
        List<String> path = new ArrayList<>();
        if (cniPath != null) {
            for (String dir : cniPath.split(":")) {
                if (!dir.isEmpty()) {
                    path.add(dir);
                }
            }
        }
        Map<String, String> args = attachment ? parseArgs(optional(env, ARGS)) : Collections.emptyMap();
        return new CniEnvironment(command, containerId, netns, ifname, args, Collections.unmodifiableList(path), env);
    }

    /** CNI_ARGS "K=V;K2=V2": empty parts are skipped, unknown keys (IgnoreUnknown and others) kept. */
    static Map<String, String> parseArgs(String value) throws CniError {
        Map<String, String> args = new LinkedHashMap<>();
        if (value == null) {
            return args;
        }
        for (String pair : value.split(";")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw invalid(ARGS + " has \"" + pair + "\", not a KEY=VALUE pair", "expected \"K=V;K2=V2\"");
            }
            args.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return args;
    }

    static void checkContainerId(String id) throws CniError {
        boolean ok = !id.isEmpty() && isAlnum(id.charAt(0));
        for (int i = 1; ok && i < id.length(); i++) {
            char c = id.charAt(i);
            ok = isAlnum(c) || c == '_' || c == '.' || c == '-';
        }
        if (!ok) {
            throw invalid(CONTAINERID + " \"" + id + "\" is not a valid container ID",
                    "it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'");
        }
    }

    static void checkIfname(String name) throws CniError {
        String problem = null;
        if (name.equals(".") || name.equals("..")) {
            problem = "must not be \".\" or \"..\"";
        } else if (name.getBytes(StandardCharsets.UTF_8).length > MAX_IFNAME_BYTES) {
            problem = "is longer than " + MAX_IFNAME_BYTES + " bytes";
        } else {
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (c == '/' || c == ':' || Character.isWhitespace(c) || Character.isSpaceChar(c) || c < 0x20) {
                    problem = "must not contain '/', ':', whitespace or control characters";
                    break;
                }
                // Vesicle's own limit (the spec lets a plugin refuse a name it cannot use): the
                // name travels in the agent API's URL paths unescaped.
                if (c > 0x7e || c == '%' || c == '?' || c == '#' || c == '"' || c == '\\') {
                    problem = "has '" + c + "': Vesicle takes printable ASCII without '%', '?', '#', '\"', '\\'";
                    break;
                }
            }
        }
        if (problem != null) {
            throw invalid(IFNAME + " \"" + name + "\" " + problem, "a Linux interface name is 1 to 15 bytes");
        }
    }

    private static boolean isAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    private static String required(Map<String, String> env, String name, Command command) throws CniError {
        String value = env.get(name);
        if (value == null || value.isEmpty()) {
            throw invalid(name + " is not set", command + " needs it");
        }
        return value;
    }

    private static String optional(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    private static CniError invalid(String msg, String details) {
        return new CniError(CniError.INVALID_ENVIRONMENT, msg, details);
    }

    Command command() {
        return command;
    }

    String containerId() {
        return containerId;
    }

    /** Null on DEL when the runtime has no namespace any more. */
    String netns() {
        return netns;
    }

    String ifname() {
        return ifname;
    }

    Map<String, String> args() {
        return args;
    }

    /** The kubelet's K8S_POD_NAMESPACE, or null outside Kubernetes. */
    String podNamespace() {
        return args.get("K8S_POD_NAMESPACE");
    }

    /** The kubelet's K8S_POD_NAME, or null outside Kubernetes. */
    String podName() {
        return args.get("K8S_POD_NAME");
    }

    /** CNI_PATH's directories in order (empty when not set). */
    List<String> path() {
        return path;
    }

    /** The whole environment, passed on to delegated plugins as libcni does. */
    Map<String, String> raw() {
        return raw;
    }

    /** The first regular, executable file named {@code name} in CNI_PATH, or null. */
    Path findPlugin(String name) {
        for (String dir : path) {
            Path candidate = Paths.get(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
