package io.vesicle.loader;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * A tc BPF filter in direct-action mode on a device's clsact hook, at handle 1 priority 1: the
 * one filter Vesicle keeps per device and direction. Attaching again replaces the program in
 * place, so there is never a second filter. The link keeps its own handle on the namespace, so
 * {@link #close()} works whatever happened to the caller's.
 */
public final class TcLink implements AutoCloseable {
    static {
        NativeLibrary.ensureAvailability();
    }

    private static final int ENOENT = Errors.ENOENT;
    private static final int EINVAL = Errors.EINVAL;
    private static final int ENODEV = Errors.ENODEV;

    private final String namespace;
    private final int ifindex;
    private final TcDirection direction;
    private final boolean createdQdisc;
    private int nsFd;
    private boolean closed;

    private TcLink(int nsFd, String namespace, int ifindex, TcDirection direction, boolean createdQdisc) {
        this.nsFd = nsFd;
        this.namespace = namespace;
        this.ifindex = ifindex;
        this.direction = direction;
        this.createdQdisc = createdQdisc;
    }

    /**
     * Attaches program at direction of device ifindex in ns ({@code null}: the caller's namespace),
     * creating the clsact qdisc if absent, replacing our filter if present.
     *
     * @throws NoSuchDeviceException when ns has no device ifindex
     */
    public static TcLink attach(Program program, NetNs ns, int ifindex, TcDirection direction) {
        int callerFd = NetNs.fdOf(ns);
        int nsFd = callerFd < 0 ? -1 : Errors.check(OwnedFd.dup0(callerFd), "duplicate the handle of " + NetNs.describe(ns));
        int ret = attach0(nsFd, ifindex, direction.attachPoint, program.fd());
        if (ret < 0) {
            if (nsFd >= 0) {
                OwnedFd.close0(nsFd);
            }
            throw Errors.exception(-ret, withKernelMessage("attach program " + program.name() + " at tc "
                    + name(direction) + " of ifindex " + ifindex + " in " + NetNs.describe(ns)));
        }
        return new TcLink(nsFd, NetNs.describe(ns), ifindex, direction, ret == 1);
    }

    /** The id of the program at our handle and priority, empty when there is none (or no clsact). */
    public static OptionalInt query(NetNs ns, int ifindex, TcDirection direction) {
        int ret = query0(NetNs.fdOf(ns), ifindex, direction.attachPoint);
        if (ret >= 0) {
            return OptionalInt.of(ret);
        }
        String what = withKernelMessage("query tc " + name(direction) + " of ifindex " + ifindex + " in "
                + NetNs.describe(ns));
        if (ret == -ENOENT || ret == -EINVAL) {
            return OptionalInt.empty();
        }
        throw Errors.exception(-ret, what);
    }

    /**
     * Deletes the clsact qdisc of device ifindex, and with it every filter of both directions: for
     * giving a device back as it was when {@link #createdQdisc()} says the qdisc was ours. No error
     * when the device or the qdisc is already gone.
     */
    public static void removeClsact(NetNs ns, int ifindex) {
        int ret = destroyClsact0(NetNs.fdOf(ns), ifindex);
        if (ret < 0) {
            String what = withKernelMessage("delete the clsact qdisc of ifindex " + ifindex + " in "
                    + NetNs.describe(ns));
            if (!gone(ret)) {
                throw Errors.exception(-ret, what);
            }
        }
    }

    /**
     * Detaches our filter from device ifindex whoever attached it (an earlier agent, say); no error
     * when the device or the filter is already gone.
     */
    public static void detach(NetNs ns, int ifindex, TcDirection direction) {
        detach(NetNs.fdOf(ns), NetNs.describe(ns), ifindex, direction);
    }

    public int ifindex() {
        return ifindex;
    }

    public TcDirection direction() {
        return direction;
    }

    /** Whether attaching created the device's clsact qdisc (it had none before). */
    public boolean createdQdisc() {
        return createdQdisc;
    }

    /**
     * Detaches our filter (whichever program it runs now); idempotent, and no error when the
     * device or the filter is already gone. The qdisc stays: see {@link #removeClsact}.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            detach(nsFd, namespace, ifindex, direction);
        } finally {
            if (nsFd >= 0) {
                OwnedFd.close0(nsFd);
                nsFd = -1;
            }
        }
    }

    /**
     * Closes this handle and leaves the filter attached: the kernel keeps it for running pods, and
     * whoever detaches later does so by device ({@link #detach}).
     */
    public synchronized void release() {
        if (closed) {
            return;
        }
        closed = true;
        if (nsFd >= 0) {
            OwnedFd.close0(nsFd);
            nsFd = -1;
        }
    }

    @Override
    public String toString() {
        return "TcLink[" + name(direction) + " of ifindex " + ifindex + " in " + namespace + "]";
    }

    /** Detaches our filter; no error when the device or the filter is already gone. */
    private static void detach(int nsFd, String namespace, int ifindex, TcDirection direction) {
        int ret = detach0(nsFd, ifindex, direction.attachPoint);
        if (ret < 0) {
            // Taken either way: the native kept libbpf's messages for this failure.
            String what = withKernelMessage("detach from tc " + name(direction) + " of ifindex " + ifindex + " in "
                    + namespace);
            if (!gone(ret)) {
                throw Errors.exception(-ret, what);
            }
        }
    }

    /** ENOENT: no such filter or qdisc; EINVAL: no clsact qdisc to look in; ENODEV: no device. */
    private static boolean gone(int ret) {
        return ret == -ENOENT || ret == -EINVAL || ret == -ENODEV;
    }

    /**
     * what, with the kernel's own words when it gave some ("kernel: Parent Qdisc doesn't exists").
     * Called after every failed native, which keeps libbpf's messages for it (TcxLink's too: the
     * capture is per thread).
     */
    static String withKernelMessage(String what) {
        byte[] log = takeLog0();
        String text = log == null ? "" : new String(log, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            return what;
        }
        return what + " (" + text.lines()
                .map(line -> line.replace("libbpf: Kernel error message: ", "kernel: ").strip())
                .collect(Collectors.joining("; ")) + ")";
    }

    private static String name(TcDirection direction) {
        return direction == TcDirection.INGRESS ? "ingress" : "egress";
    }

    private static native int attach0(int nsFd, int ifindex, int attachPoint, int progFd);

    private static native int query0(int nsFd, int ifindex, int attachPoint);

    private static native int detach0(int nsFd, int ifindex, int attachPoint);

    private static native int destroyClsact0(int nsFd, int ifindex);

    private static native byte[] takeLog0();
}
