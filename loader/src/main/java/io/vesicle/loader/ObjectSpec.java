package io.vesicle.loader;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * An opened, not yet loaded BPF object (cilium/ebpf's CollectionSpec over libbpf's
 * {@code bpf_object}): its maps and programs as declared, load-time constants and BTF layouts.
 * {@link #load()} turns it into a {@link BpfObject}, once. Close it when done; what was loaded
 * lives on in the BpfObject, which owns its own descriptors.
 *
 * <p>Maps start private, even those declared {@code pinning = LIBBPF_PIN_BY_NAME}: only under a
 * {@link #pinRoot(Path) pin root} are those pinned at {@code root/name}, or the map already
 * pinned there reused.
 */
public final class ObjectSpec implements AutoCloseable {
    static {
        NativeLibrary.ensureAvailability();
    }

    /** Map attributes come from the native side in records of this many ints. */
    private static final int MAP_ATTRS = 6;

    private final String name;
    private final List<MapSpec> maps;
    private final List<ProgramSpec> programs;
    private long handle;
    private Path pinRoot;
    private boolean loaded;

    private ObjectSpec(String name, long handle) {
        this.name = name;
        this.handle = handle;
        try {
            this.maps = readMaps(handle);
            this.programs = readPrograms(handle);
        } catch (RuntimeException | Error e) {
            close0(handle);
            throw e;
        }
    }

    /** Opens an object from its ELF bytes; name identifies it in messages and prefixes its internal maps. */
    public static ObjectSpec open(String name, byte[] elf) {
        long handle = openMem0(libbpfName(name), elf);
        if (handle < 0) {
            throw openFailure((int) -handle, "open BPF object " + name);
        }
        return new ObjectSpec(name, handle);
    }

    /** Opens an object file. */
    public static ObjectSpec open(Path file) {
        long handle = openFile0(file.toString());
        if (handle < 0) {
            throw openFailure((int) -handle, "open BPF object " + file);
        }
        return new ObjectSpec(file.toString(), handle);
    }

    /** Opens an object shipped as a class path resource, e.g. {@code /META-INF/bpf/bpf_lxc.o}. */
    public static ObjectSpec fromResource(String resource) {
        byte[] elf;
        try (InputStream in = ObjectSpec.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no BPF object " + resource + " on the class path");
            }
            elf = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read BPF object " + resource, e);
        }
        return open(resource.substring(resource.lastIndexOf('/') + 1), elf);
    }

    public String name() {
        return name;
    }

    /** Every map in the object, internal ones ({@code .rodata}) included, in section order. */
    public List<MapSpec> maps() {
        return maps;
    }

    public MapSpec map(String mapName) {
        return named(maps, MapSpec::name, "map", mapName);
    }

    public List<ProgramSpec> programs() {
        return programs;
    }

    public ProgramSpec program(String programName) {
        return named(programs, ProgramSpec::name, "program", programName);
    }

    /**
     * Pins the maps declared pinned-by-name under dir at load, reusing those already pinned there.
     * dir is created 0700 when missing, and must be safe ({@link Bpffs#checkPinRoot}). A pinned
     * map reused must match the declaration: type, key and value sizes, max entries, flags, and
     * its key and value types by BTF name. {@code null}, the default, pins nothing: every map is
     * private to the loaded object.
     */
    public synchronized ObjectSpec pinRoot(Path dir) {
        ensureNotLoaded("set the pin root");
        this.pinRoot = dir;
        return this;
    }

    /**
     * Sets a {@code const volatile} global of the object's {@code .rodata}, which the kernel sees as
     * a constant after load. value must have the variable's exact size.
     */
    public synchronized ObjectSpec setConstant(String constant, byte[] value) {
        ensureNotLoaded("set constant " + constant);
        int size = constantSize0(handle, constant);
        if (size < 0) {
            throw new IllegalArgumentException("BPF object " + name + " has no constant " + constant
                    + (size == -Errors.ENOENT ? " in .rodata" : ": it has no .rodata described by BTF"));
        }
        if (value.length != size) {
            throw new IllegalArgumentException("constant " + constant + " of BPF object " + name + " is " + size
                    + " bytes, got " + value.length);
        }
        Errors.check(setConstant0(handle, constant, value), "set constant " + constant + " of BPF object " + name);
        return this;
    }

    /**
     * Sets a 4-byte constant in native byte order. For a {@code __be32} such as an IPv4 address,
     * pass the address's bytes with {@link #setConstant(String, byte[])}.
     */
    public ObjectSpec setConstant(String constant, int value) {
        return setConstant(constant, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array());
    }

    /** The layout of struct structName as the object's BTF describes it. */
    public synchronized BtfStruct btfStruct(String structName) {
        ensureOpen();
        int[] layout = btfStruct0(handle, structName);
        String[] names = layout == null ? null : btfStructMembers0(handle, structName);
        if (layout == null || names == null) {
            throw new IllegalArgumentException("BPF object " + name + " has no struct " + structName + " in its BTF");
        }
        List<BtfStruct.Member> members = new ArrayList<>(names.length);
        for (int i = 0; i < names.length; i++) {
            members.add(new BtfStruct.Member(names[i], layout[1 + 2 * i], layout[2 + 2 * i]));
        }
        return new BtfStruct(structName, layout[0], members);
    }

    /**
     * Loads maps and programs into the kernel. A spec loads once, whether or not that succeeds.
     *
     * @throws ProgramLoadException with libbpf's messages, the verifier log among them
     */
    public synchronized BpfObject load() {
        ensureNotLoaded("load it");
        String what = "load BPF object " + name + (pinRoot == null ? "" : " with maps pinned under " + pinRoot);
        String[] pinPaths = new String[maps.size()];
        int[] reuseFds = new int[maps.size()];
        Arrays.fill(reuseFds, -1);
        List<BpfMap> pinned = new ArrayList<>();
        try {
            if (pinRoot != null) {
                Bpffs.createPinRoot(pinRoot);
                Bpffs.checkPinRoot(pinRoot);
                openPinned(what, pinPaths, reuseFds, pinned);
            }
            loaded = true;
            int ret = load0(handle, pinPaths, reuseFds);
            if (ret < 0) {
                throw new ProgramLoadException(what + ": " + Errors.describe(-ret), -ret, takeLog());
            }
        } finally {
            // libbpf holds its own duplicates of the maps it reused.
            pinned.forEach(BpfMap::close);
        }
        return adopt(dupFds0(handle));
    }

    /**
     * For each map pinned by name: its pin path when nothing is pinned there yet (libbpf creates
     * and pins it), else the pinned map, opened and checked against the declaration, in reuseFds.
     * Every difference of every map is reported at once; nothing is changed then.
     */
    private void openPinned(String what, String[] pinPaths, int[] reuseFds, List<BpfMap> pinned) {
        String[] typeNames = mapTypeNames0(handle);
        if (typeNames == null) {
            throw new OutOfMemoryError("cannot read the BTF types of the maps of BPF object " + name);
        }
        List<PinnedMapMismatchException.Mismatch> mismatches = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            MapSpec spec = maps.get(i);
            if (!spec.pinByName()) {
                continue;
            }
            Path pin = pinRoot.resolve(spec.name());
            BpfMap map;
            try {
                map = BpfMap.openPinned(pin);
            } catch (NativeException e) {
                if (e.errno() != Errors.ENOENT) {
                    throw e;
                }
                pinPaths[i] = pin.toString();
                continue;
            }
            pinned.add(map);
            String expected = describe(spec.type(), spec.keySize(), spec.valueSize(), spec.maxEntries(), spec.flags(),
                    typeNames[2 * i], typeNames[2 * i + 1]);
            String[] found = map.btfTypeNames();
            String actual = describe(map.type(), map.keySize(), map.valueSize(), map.maxEntries(), map.flags(),
                    found[0], found[1]);
            boolean typed = typeNames[2 * i] != null || typeNames[2 * i + 1] != null; // a ring buffer has none
            if (typed && found[0] == null && found[1] == null) {
                mismatches.add(new PinnedMapMismatchException.Mismatch(pin, spec.name(), expected,
                        actual + " (created without BTF)"));
            } else if (!expected.equals(actual)) {
                mismatches.add(new PinnedMapMismatchException.Mismatch(pin, spec.name(), expected, actual));
            }
            reuseFds[i] = map.fd();
        }
        if (!mismatches.isEmpty()) {
            throw new PinnedMapMismatchException(what, mismatches);
        }
    }

    private static String describe(int type, int keySize, int valueSize, int maxEntries, int flags, String keyType,
            String valueType) {
        return "type " + type + ", key " + keySize + " bytes " + typeName(keyType) + ", value " + valueSize + " bytes "
                + typeName(valueType) + ", " + maxEntries + " entries, flags 0x" + Integer.toHexString(flags);
    }

    private static String typeName(String btfName) {
        return btfName == null ? "(no BTF type)" : "(" + btfName + ")";
    }

    /** Frees libbpf's object; idempotent. A loaded BpfObject is unaffected. */
    @Override
    public synchronized void close() {
        if (handle != 0) {
            close0(handle);
            handle = 0;
        }
    }

    @Override
    public String toString() {
        return "ObjectSpec[" + name + "]";
    }

    private BpfObject adopt(int[] fds) {
        List<BpfMap> loadedMaps = new ArrayList<>(maps.size());
        List<Program> loadedPrograms = new ArrayList<>(programs.size());
        int next = 0;
        try {
            for (MapSpec map : maps) {
                int fd = fds[next++];
                Errors.check(fd, "get the descriptor of map " + map.name() + " of BPF object " + name);
                loadedMaps.add(BpfMap.adopt(fd, map.name()));
            }
            for (ProgramSpec program : programs) {
                int fd = fds[next++];
                Errors.check(fd, "get the descriptor of program " + program.name() + " of BPF object " + name);
                loadedPrograms.add(Program.adopt(fd, program.name()));
            }
        } catch (RuntimeException | Error e) {
            loadedMaps.forEach(BpfMap::close);
            loadedPrograms.forEach(Program::close);
            for (int i = next; i < fds.length; i++) {
                if (fds[i] >= 0) {
                    OwnedFd.close0(fds[i]);
                }
            }
            throw e;
        }
        return new BpfObject(name, loadedMaps, loadedPrograms);
    }

    /** The spec called wanted, or an exception listing those there are. */
    private <T> T named(List<T> specs, Function<T, String> nameOf, String kind, String wanted) {
        for (T spec : specs) {
            if (nameOf.apply(spec).equals(wanted)) {
                return spec;
            }
        }
        throw new IllegalArgumentException("BPF object " + name + " has no " + kind + " " + wanted + " (" + kind
                + "s: " + specs.stream().map(nameOf).toList() + ")");
    }

    private void ensureOpen() {
        if (handle == 0) {
            throw new IllegalStateException("BPF object " + name + " is closed");
        }
    }

    private void ensureNotLoaded(String action) {
        ensureOpen();
        if (loaded) {
            throw new IllegalStateException("cannot " + action + ": BPF object " + name
                    + " was loaded already (a spec loads once; open it again)");
        }
    }

    private static List<MapSpec> readMaps(long handle) {
        String[] names = mapNames0(handle);
        int[] attrs = mapAttrs0(handle);
        if (names == null || attrs == null) {
            throw new OutOfMemoryError("cannot list the maps of a BPF object");
        }
        List<MapSpec> maps = new ArrayList<>(names.length);
        for (int i = 0; i < names.length; i++) {
            int at = i * MAP_ATTRS;
            maps.add(new MapSpec(names[i], attrs[at], attrs[at + 1], attrs[at + 2], attrs[at + 3], attrs[at + 4],
                    attrs[at + 5] != 0));
        }
        return List.copyOf(maps);
    }

    private static List<ProgramSpec> readPrograms(long handle) {
        String[] names = programNames0(handle);
        int[] types = programAttrs0(handle);
        if (names == null || types == null) {
            throw new OutOfMemoryError("cannot list the programs of a BPF object");
        }
        List<ProgramSpec> programs = new ArrayList<>(types.length);
        for (int i = 0; i < types.length; i++) {
            programs.add(new ProgramSpec(names[2 * i], names[2 * i + 1], types[i]));
        }
        return List.copyOf(programs);
    }

    private static NativeException openFailure(int errno, String what) {
        String log = takeLog();
        return new NativeException(what + ": " + Errors.describe(errno) + (log.isEmpty() ? "" : "\n" + log), errno);
    }

    private static String takeLog() {
        byte[] log = takeLog0();
        return log == null ? "" : new String(log, StandardCharsets.UTF_8).stripTrailing();
    }

    /**
     * The name libbpf gets, as it would derive it from a file: up to the first '.', in the
     * characters the kernel takes in map names, since internal maps are prefixed with it:
     * "bpf_lxc.o" becomes "bpf_lxc" (maps "bpf_lxc.rodata").
     */
    static String libbpfName(String name) {
        String base = name.substring(name.lastIndexOf('/') + 1);
        int dot = base.indexOf('.');
        if (dot > 0) {
            base = base.substring(0, dot);
        }
        return base.replaceAll("[^A-Za-z0-9_]", "_");
    }

    private static native long openMem0(String name, byte[] elf);

    private static native long openFile0(String path);

    private static native byte[] takeLog0();

    private static native void close0(long handle);

    private static native String[] mapNames0(long handle);

    private static native int[] mapAttrs0(long handle);

    private static native String[] programNames0(long handle);

    private static native int[] programAttrs0(long handle);

    private static native int constantSize0(long handle, String name);

    private static native int setConstant0(long handle, String name, byte[] value);

    private static native int[] btfStruct0(long handle, String name);

    private static native String[] btfStructMembers0(long handle, String name);

    private static native String[] mapTypeNames0(long handle);

    private static native int load0(long handle, String[] pinPaths, int[] reuseFds);

    private static native int[] dupFds0(long handle);
}
