package io.vesicle.tests.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A TCP and UDP echo that says who called: run as its own small JVM inside a namespace
 * ({@code nsenter --net}), since the test JVM cannot enter one. The server answers every TCP line
 * and every UDP datagram with {@code from <source address it saw>}, which is how the tests learn
 * whether a packet kept its pod address or was masqueraded. The prober tries every target at once,
 * each until it answers or its time is up, and prints one line per target, so all the pairs from
 * one source cost one JVM start.
 *
 * <pre>
 *   Echo serve PORT
 *   Echo probe MILLIS_PER_TARGET tcp|udp:HOST:PORT...   → "OK tcp|udp:HOST:PORT SEEN" or "FAIL ... WHY"
 * </pre>
 */
public final class Echo {
    public static final int PORT = 7070;

    private Echo() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("serve")) {
            serve(Integer.parseInt(args[1]));
        } else if (args.length >= 3 && args[0].equals("probe")) {
            long millis = Long.parseLong(args[1]);
            // All targets at once: a broken path costs one deadline, not one per target.
            List<Thread> probes = new ArrayList<>();
            for (int i = 2; i < args.length; i++) {
                String target = args[i];
                Thread t = new Thread(() -> {
                    String line = probe(target, millis);
                    synchronized (System.out) {
                        System.out.println(line);
                    }
                }, target);
                t.start();
                probes.add(t);
            }
            for (Thread t : probes) {
                t.join();
            }
        } else {
            System.err.println("usage: Echo serve PORT | Echo probe MILLIS tcp|udp:HOST:PORT...");
            System.exit(2);
        }
    }

    private static void serve(int port) throws IOException {
        DatagramSocket udp = new DatagramSocket(port);
        Thread udpThread = new Thread(() -> {
            byte[] buffer = new byte[512];
            while (true) {
                try {
                    DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                    udp.receive(in);
                    byte[] answer = ("from " + in.getAddress().getHostAddress()).getBytes(StandardCharsets.UTF_8);
                    udp.send(new DatagramPacket(answer, answer.length, in.getSocketAddress()));
                } catch (IOException e) {
                    // One bad datagram; keep serving.
                }
            }
        }, "udp");
        udpThread.setDaemon(true);
        udpThread.start();
        try (ServerSocket tcp = new ServerSocket(port)) {
            while (true) {
                Socket s = tcp.accept();
                Thread t = new Thread(() -> answer(s), "tcp");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    private static void answer(Socket s) {
        try (s) {
            s.setSoTimeout(5000);
            new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            OutputStream out = s.getOutputStream();
            out.write(("from " + s.getInetAddress().getHostAddress() + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException ignored) {
            // The caller went away.
        }
    }

    private static String probe(String target, long millis) {
        String[] f = target.split(":");
        String protocol = f[0];
        InetSocketAddress address = new InetSocketAddress(f[1], Integer.parseInt(f[2]));
        long deadline = System.nanoTime() + millis * 1_000_000;
        String why = "no attempt";
        do {
            try {
                String seen = protocol.equals("udp") ? udp(address) : tcp(address);
                return "OK " + target + " " + seen.substring("from ".length());
            } catch (IOException | RuntimeException e) {
                why = e.toString().replace('\n', ' ');
            }
        } while (System.nanoTime() < deadline);
        return "FAIL " + target + " " + why;
    }

    private static String tcp(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address, 500);
            s.setSoTimeout(500);
            s.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            if (line == null || !line.startsWith("from ")) {
                throw new IOException("answer " + line);
            }
            return line;
        }
    }

    private static String udp(InetSocketAddress address) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            // Connected, as resolvers and most UDP clients are: an answer from any other address
            // (a DNAT not undone on the way back) is not taken for the answer.
            s.connect(address);
            s.setSoTimeout(200);
            byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
            s.send(new DatagramPacket(hello, hello.length, address));
            byte[] buffer = new byte[512];
            DatagramPacket in = new DatagramPacket(buffer, buffer.length);
            try {
                s.receive(in);
            } catch (SocketTimeoutException e) {
                throw new IOException("no answer within 200 ms");
            }
            return new String(buffer, 0, in.getLength(), StandardCharsets.UTF_8);
        }
    }

    // ---- the test side

    /** The java command running this class in its own JVM, small and quick to start. */
    private static List<String> command(String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m",
                "-XX:-UsePerfData", "-cp", classPath(), Echo.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    private static String classPath() {
        try {
            return Path.of(Echo.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts a server in netns on PORT (owned by network) and waits until it listens. */
    public static Process serve(TestNetwork network, String netns) {
        Process server;
        try {
            server = network.own(new ProcessBuilder(Shell.inNetns(netns, command("serve", String.valueOf(PORT))
                    .toArray(String[]::new))).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start());
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the echo server in " + netns, e);
        }
        Poll.until("echo server listening in " + netns, Duration.ofSeconds(30), () -> {
            if (!server.isAlive()) {
                throw new IllegalStateException("the echo server in " + netns + " exited " + server.exitValue());
            }
            Shell.Result ss = Shell.run(10, Shell.inNetns(netns, "ss", "-Hltn", "sport = :" + PORT));
            return ss.ok() && !ss.stdout().isBlank();
        });
        return server;
    }

    /**
     * Probes each target IP (its echo server on PORT) from netns over each protocol ("tcp",
     * "udp"), each for at most perTarget, all from one JVM; returns "PROTOCOL IP" → the source
     * address the server saw, or "FAIL ..." with the reason.
     */
    public static Map<String, String> probe(String netns, List<String> protocols, List<String> targets,
                                            Duration perTarget) {
        List<String> args = new ArrayList<>(List.of("probe", String.valueOf(perTarget.toMillis())));
        Map<String, String> seen = new LinkedHashMap<>();
        for (String protocol : protocols) {
            for (String target : targets) {
                args.add(protocol + ":" + target + ":" + PORT);
                seen.put(protocol + " " + target, "FAIL no line from the prober");
            }
        }
        long limit = 30 + perTarget.toSeconds();
        Shell.Result r = Shell.run((int) limit, Shell.inNetns(netns, command(args.toArray(String[]::new))
                .toArray(String[]::new)));
        for (String line : r.stdout().split("\n")) {
            String[] f = line.split(" ", 3);
            if (f.length == 3) {
                String[] target = f[1].split(":");
                seen.put(target[0] + " " + target[1], f[0].equals("OK") ? f[2] : "FAIL " + f[2]);
            }
        }
        if (!r.ok()) {
            seen.replaceAll((k, v) -> failed(v) ? v + " (prober exited " + r.exitCode() + ": " + r.stderr().strip()
                    + ")" : v);
        }
        return seen;
    }

    /** One target over one protocol: the source address the server saw, or "FAIL ...". */
    public static String probe(String netns, String protocol, String target, Duration within) {
        return probe(netns, List.of(protocol), List.of(target), within).get(protocol + " " + target);
    }

    /** Whether an answer from probe is a failure. */
    public static boolean failed(String seen) {
        return seen.startsWith("FAIL");
    }
}
