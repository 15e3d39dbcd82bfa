package io.vesicle.loader;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A program on a device's tcx hook (kernel 6.6 and later), held by a BPF link: the kernel runs it
 * without the clsact qdisc and cls_bpf around it (measured: docs/performance.md). The link lives
 * while a descriptor or a pin holds it; pinned, it outlives the process, and a later process opens
 * the pin and {@link #update}s the program in place, so the hook never runs empty. Deleting the
 * device detaches it.
 */
public final class TcxLink implements AutoCloseable {
    static {
        NativeLibrary.ensureAvailability();
    }

    /** The kernel's enum bpf_attach_type values BPF_TCX_INGRESS and BPF_TCX_EGRESS. */
    private static final int TCX_INGRESS = 46;
    private static final int TCX_EGRESS = 47;
    private static final int EBADF = 9;
    private static final int MAX_QUERIED = 64;

    private final OwnedFd fd;
    private final int ifindex;
    private final TcDirection direction;

    private TcxLink(int fd, int ifindex, TcDirection direction) {
        this.fd = new OwnedFd(fd, "tcx link on ifindex " + ifindex);
        this.ifindex = ifindex;
        this.direction = direction;
    }

    /**
     * Attaches program at direction of device ifindex in ns ({@code null}: the caller's), after
     * any programs already there.
     *
     * @throws TcxUnsupportedException when the kernel has no tcx hooks
     * @throws NoSuchDeviceException   when ns has no device ifindex
     */
    public static TcxLink attach(Program program, NetNs ns, int ifindex, TcDirection direction) {
        int ret = attach0(NetNs.fdOf(ns), ifindex, attachType(direction), program.fd());
        if (ret < 0) {
            String what = TcLink.withKernelMessage("attach program " + program.name() + " at tcx " + name(direction)
                    + " of ifindex " + ifindex + " in " + NetNs.describe(ns));
            // EINVAL is also a program of another type: only a kernel without tcx refuses the query.
            if (ret == -Errors.EINVAL && query0(NetNs.fdOf(ns), ifindex, attachType(direction), new int[1]) == ret) {
                throw new TcxUnsupportedException(what + ": " + Errors.describe(Errors.EINVAL)
                        + " (the kernel has no tcx hooks: before 6.6)");
            }
            throw Errors.exception(-ret, what);
        }
        return new TcxLink(ret, ifindex, direction);
    }

    /**
     * Opens the link pinned at path.
     *
     * @throws NativeException EBADF when the pin is no tcx link, ENOENT when there is no pin
     */
    public static TcxLink openPinned(Path path) {
        String what = "open the pinned tcx link " + path;
        int fd = Errors.check(BpfFd.objGet0(path.toString()), what);
        int[] info = new int[4];
        int ret = info0(fd, info);
        if (ret < 0) {
            OwnedFd.close0(fd);
            throw Errors.exception(-ret, ret == -EBADF ? what + " (it is no tcx link)" : what);
        }
        return new TcxLink(fd, info[1], info[2] == TCX_EGRESS ? TcDirection.EGRESS : TcDirection.INGRESS);
    }

    /**
     * The ids of the programs on the tcx hook of device ifindex in ns, in the order they run
     * (at most 64); empty when there are none.
     */
    public static int[] query(NetNs ns, int ifindex, TcDirection direction) {
        int[] ids = new int[MAX_QUERIED];
        int count = Errors.check(query0(NetNs.fdOf(ns), ifindex, attachType(direction), ids),
                "query tcx " + name(direction) + " of ifindex " + ifindex + " in " + NetNs.describe(ns));
        return Arrays.copyOf(ids, Math.min(count, MAX_QUERIED));
    }

    /** Pins the link at path (on a bpffs): it stays attached after this process ends. */
    public void pin(Path path) {
        BpfFd.pin(fd, path);
    }

    /** Runs program instead of the current one, in one step. */
    public void update(Program program) {
        Errors.check(update0(fd.get(), program.fd()), "replace the program of " + this + " with " + program.name());
    }

    /** The id of the program the link runs now. */
    public int programId() {
        int[] info = new int[4];
        Errors.check(info0(fd.get(), info), "get the info of " + this);
        return info[0];
    }

    public int ifindex() {
        return ifindex;
    }

    public TcDirection direction() {
        return direction;
    }

    /**
     * Takes the program off the device now, pinned or not (the pin then holds a detached link: unlink
     * it). No error when the device is gone already.
     */
    public void detach() {
        int ret = detach0(fd.get());
        if (ret < 0 && ret != -Errors.ENOENT && ret != -Errors.ENODEV) {
            throw Errors.exception(-ret, "detach " + this);
        }
    }

    /** Closes this descriptor: without a pin (or another holder) that detaches the link too. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "TcxLink[" + name(direction) + " of ifindex " + ifindex + "]";
    }

    private static int attachType(TcDirection direction) {
        return direction == TcDirection.INGRESS ? TCX_INGRESS : TCX_EGRESS;
    }

    private static String name(TcDirection direction) {
        return direction == TcDirection.INGRESS ? "ingress" : "egress";
    }

    private static native int attach0(int nsFd, int ifindex, int attachType, int progFd);

    private static native int info0(int fd, int[] out);

    private static native int update0(int linkFd, int progFd);

    private static native int detach0(int linkFd);

    private static native int query0(int nsFd, int ifindex, int attachType, int[] ids);
}
