package io.vesicle.loader;

/** A program as an object declares it: its ELF section and its {@code BPF_PROG_TYPE_*}. */
public record ProgramSpec(String name, String section, int type) {
}
