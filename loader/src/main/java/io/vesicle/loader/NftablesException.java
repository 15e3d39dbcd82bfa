package io.vesicle.loader;

/**
 * nft refused a command buffer (a syntax error, an unknown table, a rule the kernel rejected); the
 * message carries nft's own explanation. Nothing of a refused buffer was applied: it is one
 * transaction.
 */
public final class NftablesException extends NativeException {
    private final String nftError;

    public NftablesException(String message, String nftError) {
        super(message, Errors.EINVAL);
        this.nftError = nftError;
    }

    /** nft's error text as it printed it. */
    public String nftError() {
        return nftError;
    }
}
