package io.vesicle.loader;

import static io.vesicle.loader.TestSupport.BAD_PROG;
import static io.vesicle.loader.TestSupport.BPF_LXC;
import static io.vesicle.loader.TestSupport.CONST_NOBTF;
import static io.vesicle.loader.TestSupport.OTHER_TYPES;
import static io.vesicle.loader.TestSupport.deleteTree;
import static io.vesicle.loader.TestSupport.direct;
import static io.vesicle.loader.TestSupport.endpointInfo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ObjectSpecTest {
    private static final int BPF_MAP_TYPE_HASH = 1;
    private static final int BPF_MAP_TYPE_ARRAY = 2;
    private static final int BPF_MAP_TYPE_PERCPU_HASH = 5;
    private static final int BPF_MAP_TYPE_LRU_HASH = 9;
    private static final int BPF_MAP_TYPE_LPM_TRIE = 11;
    private static final int BPF_F_NO_PREALLOC = 1;
    private static final int BPF_PROG_TYPE_SCHED_CLS = 3;

    private Path pinDir;

    @AfterEach
    void removePins() {
        deleteTree(pinDir);
    }

    @Test
    void listsMapsAndProgramsAsDeclared() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            assertEquals("bpf_lxc.o", spec.name());
            assertEquals(new MapSpec("vsl_endpoints", BPF_MAP_TYPE_HASH, 20, 32, 65536, 0, true),
                    spec.map("vsl_endpoints"));
            assertEquals(new MapSpec("vsl_lxc", BPF_MAP_TYPE_HASH, 4, 32, 65536, 0, true), spec.map("vsl_lxc"));
            assertEquals(new MapSpec("vsl_metrics", BPF_MAP_TYPE_PERCPU_HASH, 4, 16, 1024, 0, true),
                    spec.map("vsl_metrics"));
            MapSpec rodata = spec.map("bpf_lxc.rodata");
            assertEquals(BPF_MAP_TYPE_ARRAY, rodata.type());
            assertFalse(rodata.pinByName());
            assertEquals(new MapSpec("vsl_ipcache", BPF_MAP_TYPE_LPM_TRIE, 24, 12, 512000, BPF_F_NO_PREALLOC, true),
                    spec.map("vsl_ipcache"));
            assertEquals(new MapSpec("vsl_stack_flows", BPF_MAP_TYPE_LRU_HASH, 16, 1, 65536, 0, true),
                    spec.map("vsl_stack_flows"));
            assertEquals(9, spec.maps().size());
            assertEquals(Stream.of("from_container", "from_overlay", "from_netdev", "from_host", "to_netdev")
                    .map(name -> new ProgramSpec(name, "tc", BPF_PROG_TYPE_SCHED_CLS)).toList(), spec.programs());
        }
    }

    @Test
    void loadsWithPrivateMapsByDefault() {
        try (BpfObject first = load(null); BpfObject second = load(null)) {
            BpfMap endpoints = first.map("vsl_endpoints");
            assertEquals(20, endpoints.keySize());
            assertEquals(32, endpoints.valueSize());
            assertEquals(65536, endpoints.maxEntries());
            assertEquals(BPF_MAP_TYPE_HASH, endpoints.type());
            assertTrue(endpoints.id() > 0);
            assertEquals(BPF_MAP_TYPE_PERCPU_HASH, first.map("vsl_metrics").type());
            assertEquals(Set.of("vsl_endpoints", "vsl_lxc", "vsl_metrics", "vsl_ipcache", "vsl_events",
                    "vsl_events_config", "vsl_events_lost", "vsl_stack_flows", "bpf_lxc.rodata"),
                    first.maps().stream().map(BpfMap::name).collect(Collectors.toSet()));
            Program program = first.program("from_container");
            assertEquals(BPF_PROG_TYPE_SCHED_CLS, program.type());
            assertTrue(program.id() > 0);
            // Nothing shared: each load made its own maps.
            assertNotEquals(endpoints.id(), second.map("vsl_endpoints").id());
        }
    }

    @Test
    void pinsByNameUnderTheRootAndReusesPinnedMaps() throws IOException {
        pinDir = TestSupport.pinDir();
        ByteBuffer key = direct(4).putInt(0, 7);
        ByteBuffer value = endpointInfo(new byte[] {10, 0, 0, 7}, 7, 70, new byte[6], new byte[6]);
        int endpointsId;
        try (BpfObject first = load(pinDir)) {
            endpointsId = first.map("vsl_endpoints").id();
            assertEquals(Set.of("vsl_endpoints", "vsl_lxc", "vsl_metrics", "vsl_ipcache", "vsl_events",
                    "vsl_events_config", "vsl_events_lost", "vsl_stack_flows"), list(pinDir));
            first.map("vsl_lxc").put(key, value);
        }
        // Closing the object leaves pinned maps pinned, with their contents.
        try (BpfObject second = load(pinDir)) {
            assertEquals(endpointsId, second.map("vsl_endpoints").id());
            ByteBuffer read = direct(32);
            second.map("vsl_lxc").lookup(key, read);
            assertEquals(value, read);
            try (BpfMap pinned = BpfMap.openPinned(pinDir.resolve("vsl_endpoints"))) {
                assertEquals(endpointsId, pinned.id());
                assertEquals("vsl_endpoints", pinned.name());
                assertEquals(20, pinned.keySize());
                assertEquals(32, pinned.valueSize());
            }
        }
    }

    @Test
    void pinnedMapOfAnotherShapeFailsTheLoad() throws IOException {
        pinDir = TestSupport.pinDir();
        try (BpfObject first = load(pinDir); BpfMap lxc = first.map("vsl_lxc")) {
            // Put a map of another shape where vsl_endpoints is expected.
            Path endpoints = pinDir.resolve("vsl_endpoints");
            Files.delete(endpoints);
            lxc.pin(endpoints);
            PinnedMapMismatchException e = assertThrows(PinnedMapMismatchException.class, () -> load(pinDir));
            assertTrue(e.getMessage().contains(pinDir.toString()), e.getMessage());
            assertEquals(List.of(new PinnedMapMismatchException.Mismatch(endpoints, "vsl_endpoints",
                    "type 1, key 20 bytes (struct endpoint_key), value 32 bytes (struct endpoint_info), 65536 entries,"
                            + " flags 0x0",
                    "type 1, key 4 bytes (unsigned int), value 32 bytes (struct endpoint_info), 65536 entries,"
                            + " flags 0x0")), e.mismatches());
            try (BpfMap still = BpfMap.openPinned(endpoints)) {
                assertEquals(lxc.id(), still.id(), "the pin is left as it was");
            }
        }
    }

    @Test
    void pinnedMapsWithOtherBtfTypeNamesAreNotReused() throws IOException {
        pinDir = TestSupport.pinDir();
        ByteBuffer key = direct(20).put(0, (byte) 10);
        ByteBuffer value = endpointInfo(new byte[] {10, 0, 0, 9}, 9, 90, new byte[6], new byte[6]);
        int endpointsId;
        int lxcId;
        try (ObjectSpec spec = ObjectSpec.fromResource(OTHER_TYPES); BpfObject other = spec.pinRoot(pinDir).load()) {
            // Same names, types, sizes and max entries as bpf_lxc's: only the BTF names differ.
            assertEquals(new MapSpec("vsl_endpoints", BPF_MAP_TYPE_HASH, 20, 32, 65536, 0, true), spec.map("vsl_endpoints"));
            assertEquals(new MapSpec("vsl_lxc", BPF_MAP_TYPE_HASH, 4, 32, 65536, 0, true), spec.map("vsl_lxc"));
            other.map("vsl_endpoints").put(key, value);
            endpointsId = other.map("vsl_endpoints").id();
            lxcId = other.map("vsl_lxc").id();
        }
        PinnedMapMismatchException e = assertThrows(PinnedMapMismatchException.class, () -> load(pinDir));

        assertEquals(Errors.EINVAL, e.errno());
        assertEquals(2, e.mismatches().size(), e.getMessage());
        String message = e.getMessage();
        assertTrue(message.startsWith("load BPF object bpf_lxc.o with maps pinned under " + pinDir), message);
        assertTrue(message.contains("map vsl_endpoints pinned at " + pinDir.resolve("vsl_endpoints")
                + ": expected type 1, key 20 bytes (struct endpoint_key), value 32 bytes (struct endpoint_info)"
                + ", 65536 entries, flags 0x0, found type 1, key 20 bytes (struct other_key)"), message);
        assertTrue(message.contains("map vsl_lxc pinned at " + pinDir.resolve("vsl_lxc")
                + ": expected type 1, key 4 bytes (unsigned int), value 32 bytes (struct endpoint_info)"), message);
        assertTrue(message.contains("value 32 bytes (struct other_info)"), message);
        // Nothing pinned changed: the same maps, their entry, and no new pin.
        assertEquals(Set.of("vsl_endpoints", "vsl_lxc"), list(pinDir));
        try (BpfMap endpoints = BpfMap.openPinned(pinDir.resolve("vsl_endpoints"));
                BpfMap lxc = BpfMap.openPinned(pinDir.resolve("vsl_lxc"))) {
            assertEquals(endpointsId, endpoints.id());
            assertEquals(lxcId, lxc.id());
            ByteBuffer read = direct(32);
            endpoints.lookup(key, read);
            assertEquals(value, read);
        }
    }

    @Test
    void pinnedMapWithoutBtfIsNotReused() throws IOException {
        pinDir = TestSupport.pinDir();
        Files.createDirectories(pinDir);
        Path pin = pinDir.resolve("vsl_endpoints");
        TestSupport.run("bpftool", "map", "create", pin.toString(), "type", "hash", "key", "20", "value", "32",
                "entries", "65536", "name", "vsl_endpoints");
        int id;
        try (BpfMap created = BpfMap.openPinned(pin)) {
            id = created.id();
        }

        PinnedMapMismatchException e = assertThrows(PinnedMapMismatchException.class, () -> load(pinDir));

        assertEquals(List.of(new PinnedMapMismatchException.Mismatch(pin, "vsl_endpoints",
                "type 1, key 20 bytes (struct endpoint_key), value 32 bytes (struct endpoint_info), 65536 entries,"
                        + " flags 0x0",
                "type 1, key 20 bytes (no BTF type), value 32 bytes (no BTF type), 65536 entries, flags 0x0"
                        + " (created without BTF)")), e.mismatches());
        assertEquals(Set.of("vsl_endpoints"), list(pinDir));
        try (BpfMap still = BpfMap.openPinned(pin)) {
            assertEquals(id, still.id());
        }
    }

    @Test
    void pinRootIsCreatedForRootAloneAndAnUnsafeOneRefused() throws IOException {
        pinDir = TestSupport.pinDir();
        load(pinDir).close();
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pinDir)));

        Files.setPosixFilePermissions(pinDir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Set<String> pins = list(pinDir);
        UnsafePinRootException e = assertThrows(UnsafePinRootException.class, () -> load(pinDir));
        assertTrue(e.getMessage().contains(pinDir + " is unsafe: it is writable by others"), e.getMessage());
        assertEquals(pins, list(pinDir));
    }

    @Test
    void unknownNamesAreRefusedWithTheKnownOnes() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spec.map("vsl_nope"));
            assertTrue(e.getMessage().contains("vsl_nope") && e.getMessage().contains("vsl_endpoints"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> spec.program("to_nowhere"));
            assertTrue(e.getMessage().contains("to_nowhere") && e.getMessage().contains("from_container"),
                    e.getMessage());
            try (BpfObject object = spec.load()) {
                e = assertThrows(IllegalArgumentException.class, () -> object.map("vsl_nope"));
                assertTrue(e.getMessage().contains("vsl_nope") && e.getMessage().contains("vsl_lxc"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> object.program("to_nowhere"));
                assertTrue(e.getMessage().contains("to_nowhere"), e.getMessage());
            }
        }
    }

    @Test
    void missingFileIsENOENTNamingThePath() {
        Path missing = Path.of("/nonexistent/vsl-" + TestSupport.random() + ".o");
        NativeException e = assertThrows(NativeException.class, () -> ObjectSpec.open(missing));
        assertEquals(Errors.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void opensAFile() {
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "vsl-" + TestSupport.random() + ".o");
        try {
            Files.write(file, bpfLxc());
            try (ObjectSpec spec = ObjectSpec.open(file)) {
                assertEquals(9, spec.maps().size());
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        } finally {
            file.toFile().delete();
        }
    }

    @Test
    void missingResourceIsAnIllegalArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ObjectSpec.fromResource("/META-INF/bpf/nope.o"));
        assertTrue(e.getMessage().contains("/META-INF/bpf/nope.o"), e.getMessage());
    }

    @Test
    void garbageIsRefusedWithLibbpfsMessages() {
        byte[] garbage = new byte[4096];
        Arrays.fill(garbage, (byte) 0x41);
        NativeException e = assertThrows(NativeException.class, () -> ObjectSpec.open("garbage.o", garbage));
        assertTrue(e.getMessage().contains("garbage.o"), e.getMessage());
        assertTrue(e.getMessage().contains("libbpf: elf:"), e.getMessage());
        assertTrue(e.getMessage().contains("BPF object format invalid"), e.getMessage());
        assertThrows(NativeException.class, () -> ObjectSpec.open("empty.o", new byte[0]));
    }

    @Test
    void truncatedObjectsAreRefused() {
        byte[] elf = bpfLxc();
        for (int length : new int[] {16, 64, elf.length / 2, elf.length - 64, elf.length - 1}) {
            byte[] truncated = Arrays.copyOf(elf, length);
            NativeException e = assertThrows(NativeException.class, () -> ObjectSpec.open("truncated.o", truncated),
                    "truncated at " + length);
            assertTrue(e.getMessage().contains("truncated.o"), e.getMessage());
        }
    }

    @Test
    void verifierFailureCarriesTheVerifierLog() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BAD_PROG)) {
            ProgramLoadException e = assertThrows(ProgramLoadException.class, spec::load);
            assertTrue(e.getMessage().startsWith("load BPF object bad_prog.o"), e.getMessage());
            assertTrue(e.log().contains("invalid access to packet"), e.log());
            assertTrue(e.log().contains("bad_prog"), e.log());
            assertTrue(e.getMessage().contains(e.log()));
            // A spec loads once.
            assertThrows(IllegalStateException.class, spec::load);
        }
    }

    @Test
    void eachThreadGetsItsOwnLog() throws Exception {
        byte[] garbage = new byte[256];
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> logs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                boolean bad = i % 2 == 0;
                logs.add(pool.submit(() -> {
                    if (bad) {
                        try (ObjectSpec spec = ObjectSpec.fromResource(BAD_PROG)) {
                            return "bad:" + assertThrows(ProgramLoadException.class, spec::load).log();
                        }
                    }
                    return "garbage:" + assertThrows(NativeException.class,
                            () -> ObjectSpec.open("garbage.o", garbage)).getMessage();
                }));
            }
            for (Future<String> future : logs) {
                String log = future.get();
                if (log.startsWith("bad:")) {
                    assertTrue(log.contains("invalid access to packet") && !log.contains("garbage"), log);
                } else {
                    assertTrue(log.contains("not a proper ELF") && !log.contains("bad_prog"), log);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void setsConstantsInRodata() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            spec.setConstant("CFG_GATEWAY_IP4", new byte[] {10, 0, 0, 1});
            try (BpfObject object = spec.load()) {
                BpfMap rodata = object.map("bpf_lxc.rodata");
                ByteBuffer value = direct(rodata.valueSize());
                rodata.lookup(direct(4).putInt(0, 0), value);
                assertArrayEquals(new byte[] {10, 0, 0, 1}, TestSupport.bytes(value, 0, 4));
            }
            assertThrows(IllegalStateException.class, () -> spec.setConstant("CFG_GATEWAY_IP4", 1));
        }
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            spec.setConstant("CFG_GATEWAY_IP4", 0x01020304);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> spec.setConstant("CFG_NOPE", 1));
            assertTrue(e.getMessage().contains("CFG_NOPE"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> spec.setConstant("CFG_GATEWAY_IP4", new byte[] {1, 2}));
            assertTrue(e.getMessage().contains("CFG_GATEWAY_IP4") && e.getMessage().contains("4 bytes"), e.getMessage());
        }
    }

    @Test
    void objectWithoutRodataHasNoConstants() {
        try (ObjectSpec spec = ObjectSpec.fromResource(OTHER_TYPES)) {
            assertTrue(spec.maps().stream().noneMatch(map -> map.name().endsWith(".rodata")), spec.maps().toString());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> spec.setConstant("CFG_GATEWAY_IP4", 1));
            assertEquals("BPF object other_types.o has no constant CFG_GATEWAY_IP4: it has no .rodata described by BTF",
                    e.getMessage());
            assertEquals(20, spec.btfStruct("other_key").size());
            spec.load().close();
        }
    }

    @Test
    void objectWithoutBtfLoadsButNamesNothing() {
        try (ObjectSpec spec = ObjectSpec.fromResource(CONST_NOBTF)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> spec.setConstant("CFG_VERDICT", 1));
            assertEquals("BPF object const_nobtf.o has no constant CFG_VERDICT: it has no .rodata described by BTF",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> spec.btfStruct("__sk_buff"));
            assertTrue(e.getMessage().contains("has no struct __sk_buff in its BTF"), e.getMessage());
            try (BpfObject object = spec.load()) {
                assertEquals(BPF_PROG_TYPE_SCHED_CLS, object.program("const_verdict").type());
            }
        }
    }

    @Test
    void describesStructsFromBtf() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            BtfStruct info = spec.btfStruct("endpoint_info");
            assertEquals(32, info.size());
            assertEquals(List.of(
                    new BtfStruct.Member("ip4", 0, 4),
                    new BtfStruct.Member("ifindex", 4, 4),
                    new BtfStruct.Member("endpoint_id", 8, 4),
                    new BtfStruct.Member("identity", 12, 4),
                    new BtfStruct.Member("flags", 16, 4),
                    new BtfStruct.Member("mac", 20, 6),
                    new BtfStruct.Member("node_mac", 26, 6)), info.members());
            assertEquals(26, info.member("node_mac").offset());
            assertThrows(IllegalArgumentException.class, () -> info.member("nope"));

            BtfStruct key = spec.btfStruct("endpoint_key");
            assertEquals(20, key.size());
            assertEquals(new BtfStruct.Member("addr", 0, 16), key.members().get(0));
            assertEquals(new BtfStruct.Member("family", 16, 1), key.member("family"));
            assertEquals(new BtfStruct.Member("pad", 17, 3), key.member("pad"));

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> spec.btfStruct("no_such_struct"));
            assertTrue(e.getMessage().contains("no_such_struct"), e.getMessage());
        }
    }

    @Test
    void closeIsIdempotentAndEndsTheSpec() {
        ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC);
        spec.close();
        spec.close();
        assertThrows(IllegalStateException.class, spec::load);
        assertThrows(IllegalStateException.class, () -> spec.btfStruct("endpoint_info"));
        // What the spec describes stays readable.
        assertEquals(9, spec.maps().size());
    }

    @Test
    void loadedObjectOutlivesItsSpec() {
        BpfObject object;
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            object = spec.load();
        }
        try (object) {
            ByteBuffer key = direct(4).putInt(0, 1);
            object.map("vsl_lxc").put(key, direct(32));
            assertTrue(object.map("vsl_lxc").find(key, direct(32)));
        }
        object.close();
        assertThrows(IllegalStateException.class, () -> object.map("vsl_lxc").fd());
    }

    static BpfObject load(Path pinRoot) {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            return spec.pinRoot(pinRoot).load();
        }
    }

    static byte[] bpfLxc() {
        try (InputStream in = ObjectSpecTest.class.getResourceAsStream(BPF_LXC)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Set<String> list(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(path -> path.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
