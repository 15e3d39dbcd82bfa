package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.NodeSnapshot;
import io.vesicle.tests.support.Shell;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hostile-input table of the agent core issue, against {@code bin/vesicle agent} in a node
 * namespace with a live pod wired: each row once through the API ({@code PUT /v1/endpoints}) and,
 * where CNI can carry it, once through the plugin exec'd as libcni does. Every row must get a 4xx
 * whose error names the field ({@code netns}, {@code address}, {@code ifname}), the plugin's
 * CNI code (4 for a bad netns or interface name, 7 for an address), and leave the node exactly as
 * it was ({@link NodeSnapshot}, with the agent's own view).
 *
 * <p>Rows naming init's namespace ({@code /proc/1/ns/net}, the machine's root namespace: the
 * agent runs in a node namespace here, so to an agent that only refuses its own namespace it is
 * just another one) ask for the interface name {@code lo}, which exists there: an agent that does
 * not refuse the namespace answers "exists" (409) before it creates anything, and even an agent
 * that did not look would have the kernel refuse a second {@code lo}. So the root namespace is
 * never changed whatever the agent does; the row still fails until the namespace is refused, and
 * its snapshot covers the root namespace too (read only), where this process may open it (in a
 * container it may not, and then neither may the agent).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentHostileInputIT extends CniNodeFixture {
    static final int INVALID_ENVIRONMENT = 4;
    static final int INVALID_CONFIG = 7;
    /** An address on the node namespace's own interface, inside the pod CIDR. */
    static final String NODE_ADDRESS = "10.244.1.250";
    static final String INIT_NETNS = "/proc/1/ns/net";
    /** Long enough for a refusal; bounds the rows a stuck agent would hang (a FIFO it opens). */
    static final Duration CALL_LIMIT = Duration.ofSeconds(15);

    CniNode.Pod live;
    CniNode.Pod target;
    AgentClient client;
    Path files;
    Path fifo;
    ServerSocketChannel unixSocket;

    @BeforeAll
    void setUp() throws IOException {
        live = node.pod("live");
        target = node.pod("target");
        runtime.add(list, live.eth0());
        client = new AgentClient(node.agent().socket(), CALL_LIMIT);
        // A node interface with an address in the pod CIDR, as a node's NIC or a kube-proxy dummy has.
        Shell.check(Shell.inNetns(node.netns(), "ip", "link", "add", "vtnic0", "type", "veth", "peer", "name",
                "vtnic1").toArray(String[]::new));
        Shell.check(Shell.inNetns(node.netns(), "ip", "addr", "add", NODE_ADDRESS + "/32", "dev", "vtnic0")
                .toArray(String[]::new));
        Shell.check(Shell.inNetns(node.netns(), "ip", "link", "set", "vtnic0", "up").toArray(String[]::new));
        files = network.tempDir("hostile");
        Files.writeString(files.resolve("regular"), "not a namespace\n");
        Files.createDirectory(files.resolve("directory"));
        fifo = files.resolve("fifo");
        Shell.check("mkfifo", fifo.toString());
        unixSocket = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        unixSocket.bind(UnixDomainSocketAddress.of(files.resolve("socket")));
        Files.createSymbolicLink(files.resolve("link-to-regular"), files.resolve("regular"));
        Files.createSymbolicLink(files.resolve("dangling"), files.resolve("no-such-file"));
        Files.createSymbolicLink(runtime.pluginDir().resolve("static"), Path.of("/usr/lib/cni/static"));
    }

    @AfterAll
    void closeSocket() throws IOException {
        if (unixSocket != null) {
            unixSocket.close();
        }
    }

    /**
     * One hostile request: a valid ADD of the target pod's eth0 with one member changed. viaPlugin:
     * CNI can carry it.
     */
    record Row(String name, String field, String netns, String address, String ifname, boolean viaPlugin) {
        int cniCode() {
            return field.equals("address") ? INVALID_CONFIG : INVALID_ENVIRONMENT;
        }

        /** The row reaches the root namespace: its snapshot must cover it. */
        boolean namesInit() {
            return INIT_NETNS.equals(netns);
        }

        @Override
        public String toString() {
            return field + ": " + name;
        }
    }

    Row netns(String name, String path) {
        return new Row(name, "netns", path, null, path.equals(INIT_NETNS) ? "lo" : "eth0", true);
    }

    Row netns(String name, Path path) {
        return netns(name, path.toString());
    }

    Row address(String name, String cidr) {
        return new Row(name, "address", target.netnsPath(), cidr, "eth0", true);
    }

    /** Via the plugin only when its environment can carry the name: no NUL, and in the JVM's charset. */
    Row ifname(String name, String ifname) {
        return new Row(name, "ifname", target.netnsPath(), null, ifname, ifname.indexOf('\0') < 0
                && Charset.defaultCharset().newEncoder().canEncode(ifname));
    }

    Stream<Row> rows() {
        long agentPid = node.agent().pid();
        long testPid = ProcessHandle.current().pid();
        return Stream.of(
                netns("the node's namespace file", "/var/run/netns/" + node.netns()),
                netns("the node's namespace by the agent's pid", "/proc/" + agentPid + "/ns/net"),
                netns("the agent's own namespace (/proc/self)", "/proc/self/ns/net"),
                netns("the agent's own namespace (/proc/thread-self)", "/proc/thread-self/ns/net"),
                netns("init's namespace (the machine's root)", INIT_NETNS),
                netns("a mount namespace", "/proc/self/ns/mnt"),
                netns("a UTS namespace", "/proc/" + testPid + "/ns/uts"),
                netns("a PID namespace", "/proc/" + testPid + "/ns/pid"),
                netns("a regular file", files.resolve("regular")),
                netns("a directory", files.resolve("directory")),
                netns("a FIFO", fifo),
                netns("a unix socket", files.resolve("socket")),
                netns("/dev/null", "/dev/null"),
                netns("a symlink to a regular file", files.resolve("link-to-regular")),
                netns("a dangling symlink", files.resolve("dangling")),
                netns("a missing path", files.resolve("no-such-namespace")),
                address("outside the pod CIDR", "10.99.0.5/24"),
                address("the metadata address 169.254.169.254", "169.254.169.254/32"),
                address("a /0", "10.244.1.7/0"),
                address("the gateway", CniNode.GATEWAY + "/24"),
                address("the pod CIDR's network address", "10.244.1.0/24"),
                address("the pod CIDR's broadcast address", "10.244.1.255/24"),
                address("the network address as a /32", "10.244.1.0/32"),
                address("the broadcast address as a /32", "10.244.1.255/32"),
                address("an address of the node's own interface", NODE_ADDRESS + "/24"),
                ifname("16 ASCII bytes", "eth0123456789abc"),
                ifname("16 bytes in 8 two-byte characters", "\u00e9".repeat(8)),
                ifname("a '/'", "eth/0"),
                ifname("a ':'", "eth:0"),
                ifname("a space", "eth 0"),
                ifname("a tab", "eth\t0"),
                ifname("'.'", "."),
                ifname("'..'", ".."),
                ifname("empty", ""),
                ifname("a '%' (the kernel numbers eth%d itself)", "eth%d"),
                ifname("a NUL", "eth\u00000"));
    }

    Stream<Row> pluginRows() {
        return rows().filter(Row::viaPlugin);
    }

    /** An answer: the HTTP status (0 when none came) and the error or the body. */
    record Answer(int status, String text) {
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    @Timeout(120)
    void apiRefusesNamingTheFieldAndChangesNothing(Row row) {
        NodeSnapshot before = snapshot(row);
        Answer answer = attempt(row, () -> {
            try {
                Messages.Endpoint created = client.createEndpoint(new Messages.CreateEndpoint(target.containerID(),
                        row.ifname(), row.netns(), "default", target.name(), row.address(),
                        row.address() == null ? null : CniNode.GATEWAY));
                return new Answer(200, String.valueOf(created));
            } catch (AgentClient.ApiException e) {
                return new Answer(e.status(), e.getMessage());
            } catch (AgentClient.UnavailableException e) {
                return new Answer(0, e.getMessage());
            }
        });
        NodeSnapshot after = snapshot(row);
        undo(answer.status() < 400);
        System.out.printf("API    %-58s -> %d %s%n", row, answer.status(), answer.text());

        // All three reported, so an accepted row also shows what it changed.
        assertAll(row.toString(),
                () -> assertTrue(answer.status() >= 400 && answer.status() < 500, row + ": a 4xx, got " + answer),
                () -> assertTrue(answer.text().toLowerCase(Locale.ROOT).contains(row.field()),
                        row + ": the error names " + row.field() + ": " + answer),
                () -> NodeSnapshot.assertSame(before, after, row.toString()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pluginRows")
    @Timeout(120)
    void pluginRefusesWithItsCodeAndChangesNothing(Row row) {
        CniRuntime.Attachment attachment = CniRuntime.Attachment.pod(target.containerID(), row.netns(),
                row.ifname(), "default", target.name());
        Map<String, String> env = new LinkedHashMap<>(runtime.env("ADD", attachment));
        ObjectNode conf = CniRuntime.buildOneConfig(list, list.path("plugins").path(0), null, attachment);
        if (row.address() != null) {
            // A delegated IPAM plugin hands out the address: the reference "static" plugin.
            ObjectNode address = conf.putObject("ipam").put("type", "static").putArray("addresses").addObject();
            address.put("address", row.address()).put("gateway", CniNode.GATEWAY);
        }
        NodeSnapshot before = snapshot(row);
        CniRuntime.Exec exec = attempt(row, () -> runtime.exec("vesicle", env, CniRuntime.bytes(conf), CALL_LIMIT));
        NodeSnapshot after = snapshot(row);
        undo(exec.ok() || exec.killed());
        System.out.printf("plugin %-58s -> %s%n", row, exec.killed() ? "killed after " + CALL_LIMIT
                : "exit " + exec.exitCode() + " " + exec.stdout().strip());

        JsonNode error = exec.json();
        String said = error == null ? ""
                : (error.path("msg").asText() + " " + error.path("details").asText()).toLowerCase(Locale.ROOT);
        assertAll(row.toString(),
                () -> assertFalse(exec.ok(), row + " must fail: " + exec),
                () -> assertNotNull(error, row + ": an error document on stdout: " + exec),
                () -> assertEquals(row.cniCode(), error == null ? -1 : error.path("code").asInt(), row + ": " + exec),
                () -> assertTrue(said.contains(row.field()), row + ": the error names " + row.field() + ": " + exec),
                () -> NodeSnapshot.assertSame(before, after, row.toString()));
    }

    /** The edge of the interface-name rows: 15 bytes is a valid name, through the API and the plugin. */
    @Test
    @Timeout(120)
    void fifteenAsciiBytesAreAValidInterfaceName() {
        String ifname = "eth0123456789ab";
        NodeSnapshot before = snapshot(null);
        Messages.Endpoint created = client.createEndpoint(new Messages.CreateEndpoint(target.containerID(), ifname,
                target.netnsPath(), "default", target.name(), null, null));
        assertEquals(ifname, created.ifname());
        Shell.check(Shell.inNetns(target.netns(), "ip", "link", "show", ifname).toArray(String[]::new));
        client.deleteEndpoint(target.containerID(), ifname);

        runtime.add(list, target.attachment(ifname));
        Shell.check(Shell.inNetns(target.netns(), "ip", "link", "show", ifname).toArray(String[]::new));
        runtime.del(list, target.attachment(ifname));
        NodeSnapshot.assertSame(before, snapshot(null), "creating and deleting " + ifname);
    }

    NodeSnapshot snapshot(Row row) {
        Map<String, String> namespaces = new LinkedHashMap<>();
        namespaces.put("live", live.netnsPath());
        namespaces.put("target", target.netnsPath());
        if (row != null && row.namesInit() && Files.isReadable(Path.of(INIT_NETNS))) {
            namespaces.put("init", INIT_NETNS);
        }
        return NodeSnapshot.take(node.agent(), namespaces).withAgentView(node.agent());
    }

    /**
     * Runs call; a row naming the FIFO may leave an agent worker blocked in open(2) on it (or a
     * plugin killed meanwhile), so the FIFO is then opened read-write, which never blocks and
     * lets a blocked reader's open return, before the next row comes near that worker's lock.
     */
    <T> T attempt(Row row, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } finally {
            if (row.netns().equals(fifo.toString())) {
                try {
                    new RandomAccessFile(fifo.toFile(), "rw").close();
                } catch (IOException e) {
                    throw new IllegalStateException("cannot open " + fifo, e);
                }
            }
        }
    }

    /** After a row the agent accepted (or may have): GC back to the live pod alone. */
    void undo(boolean needed) {
        if (needed) {
            client.gc(new Messages.GcRequest(List.of(new Messages.Attachment(live.containerID(), "eth0"))));
        }
    }
}
