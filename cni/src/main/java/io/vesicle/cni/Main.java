package io.vesicle.cni;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * {@code bin/vesicle-cni}: the CNI plugin (spec 1.1.0; configs 0.3.0 to 1.1.0). Parameters come
 * from the environment, the configuration from stdin; stdout carries exactly one JSON document
 * (a result, VERSION's answer or an error) or nothing; diagnostics go to stderr. Exit status 0 on
 * success, 1 with the error document otherwise.
 */
public final class Main {
    /** How long one agent call or delegated plugin may take. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** Set to anything: run {@link Training} (the build's AppCDS run) instead of a command. */
    static final String TRAINING_ENV = "VESICLE_CNI_TRAINING";

    private Main() {
    }

    public static void main(String[] args) {
        if (System.getenv(TRAINING_ENV) != null) {
            System.exit(Training.run(System.err));
        }
        String command = System.getenv(CniEnvironment.COMMAND);
        if (command != null && !command.equals("VERSION")) {
            warmUpSockets();
        }
        System.exit(run(System.getenv(), System.in, System.out, System.err));
    }

    static void warmUpSockets() {
        SocketWarmup.launch();
    }

    /**
     * Initialises the JDK's unix socket support on a second thread while the first reads stdin
     * and checks the configuration: its static initialiser seeds a SecureRandom, which loads the
     * security providers (~10 ms of a fresh JVM) whether or not the call needs them.
     */
    private static final class SocketWarmup extends Thread {
        private SocketWarmup() {
            super("vesicle-cni-warmup");
            setDaemon(true);
        }

        static void launch() {
            new SocketWarmup().start();
        }

        @Override
        public void run() {
            try {
                java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX).close();
            } catch (java.io.IOException | RuntimeException ignored) {
                // The real call reports whatever is wrong.
            }
        }
    }

    /** One invocation, everything injected; returns the exit status. */
    static int run(Map<String, String> env, InputStream stdin, OutputStream stdout, PrintStream stderr) {
        return run(env, stdin, stdout, stderr, TIMEOUT);
    }

    static int run(Map<String, String> env, InputStream stdin, OutputStream stdout, PrintStream stderr,
                   Duration timeout) {
        String version = NetworkConfig.CURRENT_VERSION;
        try {
            CniEnvironment.Command command = CniEnvironment.command(env);
            if (command == CniEnvironment.Command.VERSION) {
                print(stdout, Version.document());
                return 0;
            }
            CniEnvironment environment = CniEnvironment.parse(env);
            byte[] input;
            try {
                input = stdin.readAllBytes();
            } catch (IOException e) {
                throw new CniError(CniError.IO_FAILURE, "cannot read the network configuration from stdin",
                        e.getMessage());
            }
            NetworkConfig config = NetworkConfig.parse(input);
            version = config.cniVersion();
            Invocation invocation = new Invocation(environment, config, stderr, timeout);
            String output;
            switch (command) {
                case ADD: output = Add.run(invocation); break;
                case DEL: output = Del.run(invocation); break;
                case CHECK: output = Check.run(invocation); break;
                case STATUS: output = Status.run(invocation); break;
                case GC: output = Gc.run(invocation); break;
                default: throw new IllegalStateException("unhandled command " + command);
            }
            if (output != null) {
                print(stdout, output);
            }
            return 0;
        } catch (CniError e) {
            stderr.println("vesicle-cni: error " + e.code() + ": " + e.getMessage());
            return fail(stdout, stderr, e, version);
        } catch (RuntimeException e) {
            stderr.println("vesicle-cni: internal error");
            e.printStackTrace(stderr);
            return fail(stdout, stderr, new CniError(CniError.INTERNAL, "internal error in vesicle-cni",
                    String.valueOf(e)), version);
        }
    }

    private static int fail(OutputStream stdout, PrintStream stderr, CniError e, String version) {
        try {
            print(stdout, Json.write(e.toJson(version)));
        } catch (RuntimeException printing) {
            stderr.println("vesicle-cni: cannot print the error: " + printing);
        }
        return 1;
    }

    private static void print(OutputStream stdout, String document) {
        try {
            stdout.write((document + "\n").getBytes(StandardCharsets.UTF_8));
            stdout.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write to stdout", e);
        }
    }
}
