package io.vesicle.loader;

/**
 * Which namespace a handle is on: the device and inode of its nsfs file, as {@code stat} reports
 * them ({@code ls -iL /proc/self/ns/net}). Two handles on the same namespace have equal ids,
 * whichever path opened them.
 */
public record NamespaceId(long dev, long inode) {
    @Override
    public String toString() {
        return "net:[" + Long.toUnsignedString(inode) + "] on device " + Long.toUnsignedString(dev);
    }
}
