package io.vesicle.cluster;

/** The cluster state's source cannot be used: unreachable past its deadline, or refusing us. */
public class ClusterStateException extends RuntimeException {
    public ClusterStateException(String message) {
        super(message);
    }

    public ClusterStateException(String message, Throwable cause) {
        super(message, cause);
    }
}
