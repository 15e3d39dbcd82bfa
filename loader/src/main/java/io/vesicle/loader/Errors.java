package io.vesicle.loader;

/**
 * The one place where a native {@code -errno} becomes an exception. Natives return negative errno
 * values; callers pass them here with a description of what they were doing to what.
 */
public final class Errors {
    public static final int ENOENT = 2;
    public static final int E2BIG = 7;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int EMEDIUMTYPE = 124;

    private Errors() {
    }

    /** Returns {@code ret} when it is not an error, else throws the exception for it. */
    public static int check(int ret, String what) {
        if (ret < 0) {
            throw exception(-ret, what);
        }
        return ret;
    }

    /** Same for natives returning a long (handles, counts). */
    public static long check(long ret, String what) {
        if (ret < 0) {
            throw exception((int) -ret, what);
        }
        return ret;
    }

    /** Like {@link #check(int, String)} for map operations, where errnos name map conditions. */
    public static int checkMap(int ret, String what) {
        if (ret < 0) {
            throw mapException(-ret, what);
        }
        return ret;
    }

    /** The exception for a positive errno of any operation. */
    public static NativeException exception(int errno, String what) {
        String message = what + ": " + describe(errno);
        return errno == ENODEV ? new NoSuchDeviceException(message) : new NativeException(message, errno);
    }

    /** The exception for a positive errno of a map operation: absent key, full map, existing key. */
    public static NativeException mapException(int errno, String what) {
        String message = what + ": " + describe(errno);
        switch (errno) {
            case ENOENT:
                return new KeyNotFoundException(message);
            case E2BIG:
                return new MapFullException(message);
            case EEXIST:
                return new KeyExistsException(message);
            default:
                return new NativeException(message, errno);
        }
    }

    /** "No such file or directory (errno 2)". */
    public static String describe(int errno) {
        return Descriptions.of(errno) + " (errno " + errno + ")";
    }

    static native String strerror(int errno);

    /** Built once, when the first error is described, so messages need no native call afterwards. */
    private static final class Descriptions {
        private static final String[] TEXT = new String[134];
        /** libbpf's own codes, from LIBBPF_ERRNO__LIBELF (4000) to LIBBPF_ERRNO__NLPARSE (4013). */
        private static final int LIBBPF_FIRST = 4000;
        private static final String[] LIBBPF = new String[14];

        static {
            NativeLibrary.ensureAvailability();
            for (int i = 0; i < TEXT.length; i++) {
                TEXT[i] = strerror(i);
            }
            for (int i = 0; i < LIBBPF.length; i++) {
                LIBBPF[i] = strerror(LIBBPF_FIRST + i);
            }
        }

        static String of(int errno) {
            if (errno >= LIBBPF_FIRST && errno < LIBBPF_FIRST + LIBBPF.length) {
                return LIBBPF[errno - LIBBPF_FIRST];
            }
            return errno >= 0 && errno < TEXT.length ? TEXT[errno] : "Unknown error";
        }
    }
}
