package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.loader.NotANamespaceException.Kind;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * NetNs.open checks what it opened, not the path: the real kernel's nsfs, a namespace this test
 * creates, and every other kind of file in a temporary directory.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetNsTest {
    private TestSupport.TestNetns netns;
    private Path dir;
    private ServerSocketChannel socket;
    private Process holder;

    @BeforeEach
    void setUp() throws IOException {
        netns = new TestSupport.TestNetns();
        dir = TestSupport.tempDir();
        Files.writeString(dir.resolve("regular"), "not a namespace");
        Files.createDirectory(dir.resolve("directory"));
        TestSupport.run("mkfifo", dir.resolve("fifo").toString());
        TestSupport.run("mknod", dir.resolve("block").toString(), "b", "7", "200");
        socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        socket.bind(UnixDomainSocketAddress.of(dir.resolve("socket")));
        Files.createSymbolicLink(dir.resolve("link-to-regular"), dir.resolve("regular"));
        Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nothing-here"));
        Files.createSymbolicLink(dir.resolve("link-to-netns"), Path.of("/var/run/netns", netns.name));
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (holder != null) {
                TestSupport.kill(holder);
            }
            if (socket != null) {
                socket.close();
            }
            TestSupport.deleteTree(dir);
        } finally {
            netns.close();
        }
    }

    @Test
    void opensANetnsFileWithItsIdentity() throws IOException {
        Path file = Path.of("/var/run/netns", netns.name);
        try (NetNs ns = NetNs.open(file); NetNs viaLink = NetNs.open(dir.resolve("link-to-netns"))) {
            assertEquals(file, ns.path());
            // stat, through the JDK, is the witness: the nsfs inode the bind mount shows.
            assertEquals(new NamespaceId((Long) Files.getAttribute(file, "unix:dev"),
                    (Long) Files.getAttribute(file, "unix:ino")), ns.id());
            assertEquals(ns.id(), viaLink.id());
            assertEquals(ns.id(), netns.ns.id());
            assertNotEquals(NetNs.currentThreadId(), ns.id());
            assertEquals(List.of("lo"), Netlink.links(ns).stream().map(Netlink.Link::name).toList());
        }
    }

    @Test
    void namesTheThreadsOwnAndInitsNamespace() throws IOException {
        Path self = Path.of("/proc/thread-self/ns/net");
        assertEquals(new NamespaceId((Long) Files.getAttribute(self, "unix:dev"),
                (Long) Files.getAttribute(self, "unix:ino")), NetNs.currentThreadId());
        Path init = Path.of("/proc/1/ns/net");
        NamespaceId initWitness;
        try {
            initWitness = new NamespaceId((Long) Files.getAttribute(init, "unix:dev"),
                    (Long) Files.getAttribute(init, "unix:ino"));
        } catch (AccessDeniedException e) {
            // A sandbox that hides its init (no ptrace access to pid 1): the errno is kept.
            NativeException denied = assertThrows(NativeException.class, NetNs::initId);
            assertEquals(13, denied.errno(), denied.getMessage()); // EACCES
            initWitness = null;
        }
        if (initWitness != null) {
            assertEquals(initWitness, NetNs.initId());
        }
        assertEquals(NetNs.idOf(Path.of("/proc/self/ns/net")), NetNs.currentThreadId());
    }

    @Test
    void opensProcPidNsNetOfAProcessInsideTheNamespace() throws Exception {
        // The holder reads its stdin, so it ends by itself when this JVM dies; its command line
        // names the namespace, so a later run's sweep finds it if it does not.
        holder = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + netns.name, "sh", "-c", "read line",
                netns.name + "-holder").start();
        Path procNet = Path.of("/proc", Long.toString(holder.pid()), "ns", "net");
        NamespaceId expected = netns.ns.id();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // nsenter enters the namespace after it starts: poll for it with a deadline.
        while (!expected.equals(NetNs.idOf(procNet))) {
            assertTrue(holder.isAlive(), "nsenter exited " + (holder.isAlive() ? "" : holder.exitValue()));
            assertTrue(System.nanoTime() < deadline, procNet + " never reached " + netns.name);
            Thread.sleep(10);
        }
        try (NetNs ns = NetNs.open(procNet)) {
            assertEquals(expected, ns.id());
            assertEquals(procNet, ns.path());
            assertEquals(List.of("lo"), Netlink.links(ns).stream().map(Netlink.Link::name).toList());
        }
    }

    @Test
    void namespacesOfOtherTypesAreRefusedByType() {
        for (String type : List.of("mnt", "uts", "ipc", "pid", "user", "cgroup", "time")) {
            Path path = Path.of("/proc/self/ns", type);
            WrongNamespaceTypeException e = assertThrows(WrongNamespaceTypeException.class, () -> NetNs.open(path));
            assertEquals(type, e.type());
            assertEquals(path, e.path());
            assertEquals(Errors.EINVAL, e.errno());
            assertTrue(e.getMessage().contains(path + " is a " + type + " namespace, not a net namespace"),
                    e.getMessage());
        }
    }

    @Test
    void everyOtherKindOfFileIsRefusedSayingWhatItIs() {
        for (Map.Entry<Path, Kind> refusal : refusals().entrySet()) {
            Path path = refusal.getKey();
            NotANamespaceException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertThrows(NotANamespaceException.class, () -> NetNs.open(path)), path.toString());
            assertEquals(refusal.getValue(), e.kind(), path.toString());
            assertEquals(path, e.path());
            assertEquals(Errors.EINVAL, e.errno());
            assertTrue(e.getMessage().contains(path + " is not a namespace file: it is " + refusal.getValue()),
                    e.getMessage());
        }
        NotANamespaceException e = assertThrows(NotANamespaceException.class, () -> NetNs.open(Path.of("/dev/null")));
        assertTrue(e.getMessage().contains("a character device on tmpfs"), e.getMessage());
        e = assertThrows(NotANamespaceException.class, () -> NetNs.open(Path.of("/proc/self/status")));
        assertTrue(e.getMessage().contains("a regular file on proc"), e.getMessage());
    }

    @Test
    void aFifoIsRefusedWithoutBlockingOrTouchingIt() throws IOException {
        Path fifo = dir.resolve("fifo");
        // Opened for reading, a FIFO without a writer would block forever.
        NotANamespaceException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(NotANamespaceException.class, () -> NetNs.open(fifo)));
        assertEquals(Kind.FIFO, e.kind());
        assertTrue(e.getMessage().contains("a FIFO"), e.getMessage());
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther(),
                "the FIFO is still there, as it was");
    }

    @Test
    void missingFilesAndDanglingLinksKeepENOENT() {
        for (Path path : List.of(dir.resolve("missing"), dir.resolve("dangling"),
                Path.of("/var/run/netns", TestSupport.netnsName()))) {
            NativeException e = assertThrows(NativeException.class, () -> NetNs.open(path));
            assertEquals(NativeException.class, e.getClass(), "no more specific exception for " + path);
            assertEquals(Errors.ENOENT, e.errno());
            assertTrue(e.getMessage().contains("open network namespace " + path), e.getMessage());
        }
        NativeException e = assertThrows(NativeException.class,
                () -> NetNs.open(dir.resolve("regular").resolve("below")));
        assertEquals(20, e.errno(), e.getMessage()); // ENOTDIR
    }

    @Test
    void noDescriptorLeaksOnAnyOutcome() throws IOException {
        long before = openDescriptors();
        for (int round = 0; round < 3; round++) {
            for (Path path : refusals().keySet()) {
                assertThrows(NotANamespaceException.class, () -> NetNs.open(path));
            }
            assertThrows(WrongNamespaceTypeException.class, () -> NetNs.open(Path.of("/proc/self/ns/mnt")));
            assertThrows(NativeException.class, () -> NetNs.open(dir.resolve("dangling")));
            NetNs.open(Path.of("/var/run/netns", netns.name)).close();
            NetNs.currentThreadId();
        }
        // Not equality: a descriptor an earlier test left to a cleaner may close meanwhile.
        long after = openDescriptors();
        assertTrue(after <= before, "descriptors open before: " + before + ", after: " + after);
    }

    /** Each file that is no namespace, and what it is. */
    private Map<Path, Kind> refusals() {
        Map<Path, Kind> refusals = new LinkedHashMap<>();
        refusals.put(dir.resolve("regular"), Kind.REGULAR_FILE);
        refusals.put(dir.resolve("directory"), Kind.DIRECTORY);
        refusals.put(dir.resolve("fifo"), Kind.FIFO);
        refusals.put(dir.resolve("socket"), Kind.SOCKET);
        refusals.put(dir.resolve("block"), Kind.BLOCK_DEVICE);
        refusals.put(Path.of("/dev/null"), Kind.CHARACTER_DEVICE);
        refusals.put(dir.resolve("link-to-regular"), Kind.REGULAR_FILE);
        refusals.put(Path.of("/proc/self/ns"), Kind.DIRECTORY);
        return refusals;
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
