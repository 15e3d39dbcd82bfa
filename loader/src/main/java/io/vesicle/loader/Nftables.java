package io.vesicle.loader;

import java.util.Objects;

/**
 * The kernel's nftables through libnftables (which speaks netlink; no {@code nft} process), in any
 * network namespace. A buffer of commands in nft's syntax is one transaction: all of it applies
 * or none of it, which is how a table is replaced atomically ({@code table ...} to make sure it
 * exists, {@code delete table ...}, then the new table, in one buffer).
 */
public final class Nftables {
    private static final int OUTPUT = 0;
    private static final int ERROR = 1;

    static {
        NativeLibrary.ensureAvailability();
    }

    private Nftables() {
    }

    /**
     * Runs commands in ns ({@code null}: the caller's namespace) as one transaction.
     *
     * @return what nft printed (the listing, for {@code list} commands)
     * @throws NftablesException when nft refused them, with its error text
     */
    public static String apply(NetNs ns, String commands) {
        Objects.requireNonNull(commands, "commands");
        String[] texts = new String[2];
        int ret;
        synchronized (Nftables.class) {
            // libnftables initialises process-wide state on first use and is not documented thread-safe.
            ret = run0(NetNs.fdOf(ns), commands, texts);
        }
        String what = "nftables in " + NetNs.describe(ns);
        Errors.check(ret, what);
        if (ret == 1) {
            String error = texts[ERROR].strip();
            throw new NftablesException(what + " refused " + firstLine(commands) + ": " + error, error);
        }
        return texts[OUTPUT];
    }

    private static String firstLine(String commands) {
        String line = commands.strip().lines().findFirst().orElse("");
        return "'" + (line.length() > 80 ? line.substring(0, 80) + "..." : line) + "'";
    }

    /** 0 done, 1 refused (texts[ERROR] says why), or -errno; texts gets nft's output and error text. */
    private static native int run0(int nsFd, String commands, String[] texts);
}
