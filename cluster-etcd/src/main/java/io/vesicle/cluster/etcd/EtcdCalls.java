package io.vesicle.cluster.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.vesicle.cluster.ClusterStateException;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for jetcd's futures with a deadline, so a silent etcd is a clear error and not a hang. */
final class EtcdCalls {
    /** jetcd waits for the connection to become ready; past this, etcd counts as unreachable. */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private EtcdCalls() {
    }

    /** @throws ClusterStateException saying what failed (what) and why */
    static <T> T await(CompletableFuture<T> call, String what) {
        try {
            return call.get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            call.cancel(false);
            throw new ClusterStateException(what + ": etcd did not answer within " + REQUEST_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new ClusterStateException(what + ": " + describe(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterStateException(what + ": interrupted");
        }
    }

    static String describe(Throwable error) {
        String message = error.getMessage();
        return message == null || message.isBlank() ? error.getClass().getSimpleName() : message;
    }

    /** Whether error (or a cause of it) is etcd's "requested lease not found". */
    static boolean isLeaseNotFound(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof EtcdException etcd && etcd.getErrorCode() == ErrorCode.NOT_FOUND) {
                return true;
            }
            if (t.getMessage() != null && t.getMessage().contains("requested lease not found")) {
                return true;
            }
        }
        return false;
    }

    static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    static ByteSequence bytes(byte[] value) {
        return ByteSequence.from(value);
    }

    static String text(ByteSequence bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
