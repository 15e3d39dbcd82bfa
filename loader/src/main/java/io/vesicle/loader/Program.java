package io.vesicle.loader;

import java.nio.file.Path;
import java.util.Arrays;

/** A loaded program, owning its descriptor. */
public final class Program implements AutoCloseable {
    static {
        NativeLibrary.ensureAvailability();
    }

    /** Room test runs leave for programs that grow the packet. */
    private static final int TEST_RUN_HEADROOM = 256;
    private static final int ETH_HLEN = 14;
    /** Attributes filled by info0, in this order. */
    private static final int INFO_TYPE = 0;
    private static final int INFO_ID = 1;
    private static final int INFO_LEN = 2;
    /** Results filled by testRun0, in this order. */
    private static final int RUN_RETVAL = 0;
    private static final int RUN_DATA_SIZE = 1;
    private static final int RUN_DURATION = 2;
    private static final int RUN_LEN = 3;

    private final String name;
    private final int id;
    private final int type;
    private final OwnedFd fd;

    private Program(OwnedFd fd, String name, int[] info) {
        this.fd = fd;
        this.name = name;
        this.type = info[INFO_TYPE];
        this.id = info[INFO_ID];
    }

    /** Takes ownership of fd, a program descriptor (closed if this fails). */
    static Program adopt(int fd, String name) {
        int[] info = new int[INFO_LEN];
        return new Program(BpfFd.adopt(fd, BpfFd.Kind.PROGRAM, name, () -> info0(fd, info)), name, info);
    }

    /** Opens the program pinned at path; its name is the kernel's (at most 15 characters). */
    public static Program openPinned(Path path) {
        return BpfFd.openPinned(path, BpfFd.Kind.PROGRAM, Program::adopt);
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd.get();
    }

    public int id() {
        return id;
    }

    /** {@code BPF_PROG_TYPE_*}. */
    public int type() {
        return type;
    }

    /**
     * Runs the program on packet with BPF_PROG_TEST_RUN, repeat times (0 counts as 1). For tc
     * programs the packet starts at the Ethernet header (at least 14 bytes) and the kernel runs it
     * as if received on loopback (ifindex 1) unless ctxIfindex names another device of the caller's
     * namespace. Map updates the program makes are real.
     */
    public TestRunResult testRun(byte[] packet, int ctxIfindex, int repeat) {
        return testRun(null, packet, ctxIfindex, repeat);
    }

    /**
     * {@link #testRun(byte[], int, int)} inside network namespace ns ({@code null}: the caller's):
     * the skb belongs to that namespace, so ctxIfindex names one of its devices and the helpers
     * that consult the kernel (FIB and neighbour lookups) see its routes and neighbours.
     */
    public TestRunResult testRun(NetNs ns, byte[] packet, int ctxIfindex, int repeat) {
        byte[] out = new byte[packet.length + TEST_RUN_HEADROOM];
        long[] results = new long[RUN_LEN];
        int ret = testRun0(NetNs.fdOf(ns), fd(), packet, ctxIfindex, repeat, out, results);
        if (ret < 0) {
            Errors.check(ret, "test run of program " + name + " on a " + packet.length + "-byte packet"
                    + (ctxIfindex > 1 ? " from ifindex " + ctxIfindex : "")
                    + (ns == null ? "" : " in " + NetNs.describe(ns))
                    + (packet.length < ETH_HLEN ? " (shorter than an Ethernet header)" : ""));
        }
        return new TestRunResult((int) results[RUN_RETVAL], Arrays.copyOf(out, (int) results[RUN_DATA_SIZE]),
                results[RUN_DURATION]);
    }

    /** Pins the program at path (on a bpffs). */
    public void pin(Path path) {
        BpfFd.pin(fd, path);
    }

    /** Closes the descriptor; idempotent. The program lives on while pinned or attached. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Program[" + name + ", id " + id + ", type " + type + "]";
    }

    /**
     * The outcome of a test run: the program's return value (for tc, the {@code TC_ACT_*} verdict),
     * the packet as it left it, and the average duration of one run.
     */
    public record TestRunResult(int retval, byte[] data, long durationNs) {
    }

    private static native int info0(int fd, int[] info);

    private static native int testRun0(int nsFd, int fd, byte[] packet, int ctxIfindex, int repeat, byte[] dataOut,
            long[] results);
}
