package io.vesicle.loader;

/**
 * A map as an object declares it, before load (cilium/ebpf's MapSpec). {@code type} and
 * {@code flags} are the kernel's {@code BPF_MAP_TYPE_*} and {@code BPF_F_*} values;
 * {@code pinByName} is the declaration's {@code pinning = LIBBPF_PIN_BY_NAME}, which takes
 * effect only under an {@link ObjectSpec#pinRoot(java.nio.file.Path) pin root}. Internal maps
 * (the object's {@code .rodata}, named {@code <object>.rodata}) are listed too.
 */
public record MapSpec(String name, int type, int keySize, int valueSize, int maxEntries, int flags,
        boolean pinByName) {
}
