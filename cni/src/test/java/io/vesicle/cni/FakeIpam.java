package io.vesicle.cni;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * An IPAM plugin as a shell script in its own CNI_PATH directory: it logs each call (command and
 * stdin, one line each), prints {@code <COMMAND>.out} and exits with {@code <COMMAND>.exit} when
 * those files exist, and refuses with error 1 any config whose cniVersion is in {@code refuse}
 * (VERSION excepted, as real plugins answer it whatever the version).
 */
final class FakeIpam {
    static final String NAME = "fake-ipam";
    static final String ADD_RESULT = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.99.0.7/24\","
            + "\"gateway\":\"10.99.0.1\"}],\"dns\":{\"nameservers\":[\"10.99.0.53\"]}}";

    final Path dir;

    FakeIpam(Path dir) {
        this.dir = dir;
        String script = "#!/bin/sh\n"
                + "dir=$(dirname \"$0\")\n"
                + "input=$(cat)\n"
                + "printf '%s %s\\n' \"$CNI_COMMAND\" \"$(printf '%s' \"$input\" | tr -d '\\n')\" >> \"$dir/calls.log\"\n"
                + "if [ \"$CNI_COMMAND\" != VERSION ] && [ -f \"$dir/refuse\" ] && printf '%s' \"$input\" | grep -q \"\\\"cniVersion\\\":\\\"$(cat \"$dir/refuse\")\\\"\"; then\n"
                + "  echo '{\"code\":1,\"msg\":\"incompatible CNI versions\"}'; exit 1\n"
                + "fi\n"
                + "[ -f \"$dir/$CNI_COMMAND.out\" ] && cat \"$dir/$CNI_COMMAND.out\"\n"
                + "[ -f \"$dir/$CNI_COMMAND.exit\" ] && exit $(cat \"$dir/$CNI_COMMAND.exit\")\n"
                + "exit 0\n";
        try {
            Path file = dir.resolve(NAME);
            Files.writeString(file, script);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
            answer("ADD", ADD_RESULT, 0);
            answer("VERSION", "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}", 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void answer(String command, String stdout, int exit) {
        try {
            Files.writeString(dir.resolve(command + ".out"), stdout);
            Files.writeString(dir.resolve(command + ".exit"), Integer.toString(exit));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void refuse(String version) {
        try {
            Files.writeString(dir.resolve("refuse"), version);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** "COMMAND stdin" per call, in order. */
    List<String> calls() {
        try {
            Path log = dir.resolve("calls.log");
            return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<String> commands() {
        return calls().stream().map(line -> line.substring(0, line.indexOf(' '))).toList();
    }
}
