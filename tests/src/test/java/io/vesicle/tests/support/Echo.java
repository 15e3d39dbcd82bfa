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
 * whether a packet kept its pod address or was masqueraded. The prober tries each target until it
 * answers or its time is up and prints one line per target, so all the pairs from one source cost
 * one JVM start.
 *
 * <pre>
 *   Echo serve PORT
 *   Echo probe tcp|udp MILLIS_PER_TARGET HOST:PORT...   → "OK HOST:PORT SEEN" or "FAIL HOST:PORT WHY"
 * </pre>
 */
public final class Echo {
    public static final int PORT = 7070;

    private Echo() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("serve")) {
            serve(Integer.parseInt(args[1]));
        } else if (args.length >= 4 && args[0].equals("probe")) {
            long millis = Long.parseLong(args[2]);
            for (int i = 3; i < args.length; i++) {
                System.out.println(probe(args[1], args[i], millis));
            }
        } else {
            System.err.println("usage: Echo serve PORT | Echo probe tcp|udp MILLIS HOST:PORT...");
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

    private static String probe(String protocol, String target, long millis) {
        int colon = target.lastIndexOf(':');
        InetSocketAddress address = new InetSocketAddress(target.substring(0, colon),
                Integer.parseInt(target.substring(colon + 1)));
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
     * Probes each target IP (its echo server on PORT) from netns over protocol ("tcp" or "udp"),
     * each for at most perTarget; returns target IP → the source address the server saw, or
     * "FAIL ..." with the reason.
     */
    public static Map<String, String> probe(String netns, String protocol, List<String> targets,
                                            Duration perTarget) {
        List<String> args = new ArrayList<>(List.of("probe", protocol, String.valueOf(perTarget.toMillis())));
        targets.forEach(t -> args.add(t + ":" + PORT));
        long limit = 30 + perTarget.toSeconds() * targets.size();
        Shell.Result r = Shell.run((int) limit, Shell.inNetns(netns, command(args.toArray(String[]::new))
                .toArray(String[]::new)));
        Map<String, String> seen = new LinkedHashMap<>();
        targets.forEach(t -> seen.put(t, "FAIL no line from the prober (exit " + r.exitCode() + ": " + r.stderr()
                + ")"));
        for (String line : r.stdout().split("\n")) {
            String[] f = line.split(" ", 3);
            if (f.length == 3) {
                String ip = f[1].substring(0, f[1].lastIndexOf(':'));
                seen.put(ip, f[0].equals("OK") ? f[2] : "FAIL " + f[2]);
            }
        }
        return seen;
    }

    /** Whether an answer from probe is a failure. */
    public static boolean failed(String seen) {
        return seen.startsWith("FAIL");
    }
}
