package io.vesicle.loader;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A loaded object (cilium/ebpf's Collection): its maps and programs, each owning its descriptor.
 * Closing it closes them all; pinned maps stay pinned.
 */
public final class BpfObject implements AutoCloseable {
    private final String name;
    private final Map<String, BpfMap> maps = new LinkedHashMap<>();
    private final Map<String, Program> programs = new LinkedHashMap<>();

    BpfObject(String name, List<BpfMap> maps, List<Program> programs) {
        this.name = name;
        maps.forEach(map -> this.maps.put(map.name(), map));
        programs.forEach(program -> this.programs.put(program.name(), program));
    }

    public String name() {
        return name;
    }

    public BpfMap map(String mapName) {
        BpfMap map = maps.get(mapName);
        if (map == null) {
            throw new IllegalArgumentException("BPF object " + name + " has no map " + mapName + " (maps: "
                    + maps.keySet() + ")");
        }
        return map;
    }

    public Program program(String programName) {
        Program program = programs.get(programName);
        if (program == null) {
            throw new IllegalArgumentException("BPF object " + name + " has no program " + programName
                    + " (programs: " + programs.keySet() + ")");
        }
        return program;
    }

    public Collection<BpfMap> maps() {
        return Collections.unmodifiableCollection(maps.values());
    }

    public Collection<Program> programs() {
        return Collections.unmodifiableCollection(programs.values());
    }

    /** Closes every map and program descriptor; idempotent. */
    @Override
    public void close() {
        maps.values().forEach(BpfMap::close);
        programs.values().forEach(Program::close);
    }

    @Override
    public String toString() {
        return "BpfObject[" + name + ", maps " + maps.keySet() + ", programs " + programs.keySet() + "]";
    }
}
