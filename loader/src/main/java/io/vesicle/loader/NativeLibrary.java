package io.vesicle.loader;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Loads {@code libvesicle_loader.so} from the jar, once. Availability is state, not a crash:
 * callers ask {@link #isAvailable()} or call {@link #ensureAvailability()}, which throws with the
 * cause (not root, missing libbpf, a noexec temporary directory...).
 */
public final class NativeLibrary {
    static final String RESOURCE = "/META-INF/native/libvesicle_loader.so";
    /** Overrides where the library is extracted to; the default temp dir may be mounted noexec. */
    public static final String EXTRACT_DIR_PROPERTY = "vesicle.native.dir";

    private static final Throwable UNAVAILABILITY_CAUSE = load();

    private NativeLibrary() {
    }

    public static boolean isAvailable() {
        return UNAVAILABILITY_CAUSE == null;
    }

    public static Throwable unavailabilityCause() {
        return UNAVAILABILITY_CAUSE;
    }

    public static void ensureAvailability() {
        if (UNAVAILABILITY_CAUSE != null) {
            throw (UnsatisfiedLinkError) new UnsatisfiedLinkError(
                    "the Vesicle native loader is unavailable: " + UNAVAILABILITY_CAUSE.getMessage())
                    .initCause(UNAVAILABILITY_CAUSE);
        }
    }

    private static Throwable load() {
        Path extracted = null;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return new UnsatisfiedLinkError(RESOURCE + " is not on the class path: was the loader module built with make?");
            }
            String dir = System.getProperty(EXTRACT_DIR_PROPERTY, System.getProperty("java.io.tmpdir"));
            extracted = Files.createTempFile(Path.of(dir), "libvesicle_loader", ".so",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.copy(in, extracted, StandardCopyOption.REPLACE_EXISTING);
            System.load(extracted.toString());
            return null;
        } catch (IOException e) {
            return new UnsatisfiedLinkError("cannot extract " + RESOURCE + ": " + e);
        } catch (UnsatisfiedLinkError e) {
            return explain(e, extracted);
        } catch (LinkageError e) {
            // JNI_OnLoad's own failure (a class without the natives it registers) comes as the
            // exception it left pending, a NoSuchMethodError: availability state too, not a crash.
            return (UnsatisfiedLinkError) new UnsatisfiedLinkError("cannot register the natives: " + e).initCause(e);
        } finally {
            deleteQuietly(extracted);
        }
    }

    private static UnsatisfiedLinkError explain(UnsatisfiedLinkError e, Path extracted) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        String hint;
        if (message.contains("failed to map segment") || message.contains("Operation not permitted")) {
            hint = " (is " + (extracted == null ? "the temp dir" : extracted.getParent())
                    + " mounted noexec? set -D" + EXTRACT_DIR_PROPERTY + "=<dir>)";
        } else if (message.contains("libbpf") || message.contains("libnl")) {
            hint = " (install libbpf1 and libnl-route-3-200: make deps)";
        } else {
            hint = "";
        }
        UnsatisfiedLinkError explained = new UnsatisfiedLinkError(message + hint);
        explained.initCause(e);
        return explained;
    }

    private static void deleteQuietly(Path path) {
        if (path == null) {
            return;
        }
        try {
            // Once mapped, the library no longer needs its file.
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // A leftover in the temp dir harms nothing.
        }
    }
}
