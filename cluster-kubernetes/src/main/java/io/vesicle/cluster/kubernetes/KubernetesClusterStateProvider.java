package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.client.Config;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateProvider;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * {@code clusterState: kubernetes}. Settings (agent config keys, YAML names):
 * <ul>
 *   <li>{@value #KUBECONFIG}: path of a kubeconfig file (its current context is used); absent: the
 *       in-cluster configuration of a pod (service account token and CA under
 *       /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT), as a DaemonSet
 *       agent has;</li>
 *   <li>{@value #CLUSTER_CIDR}: optional; the prefix every node's pod CIDR must lie in (a node whose
 *       spec.podCIDR lies outside refuses to join).</li>
 * </ul>
 * The node's name comes with {@link io.vesicle.cluster.LocalNode}. Other keys are not this source's
 * and are ignored.
 */
public final class KubernetesClusterStateProvider implements ClusterStateProvider {
    public static final String KIND = "kubernetes";
    public static final String KUBECONFIG = "kubeconfig";
    public static final String CLUSTER_CIDR = "clusterCIDR";
    /** How long {@link ClusterState#join} waits for this node's Node object and its spec.podCIDR. */
    static final Duration JOIN_TIMEOUT = Duration.ofSeconds(60);

    private final UnaryOperator<String> environment;

    public KubernetesClusterStateProvider() {
        this(System::getenv);
    }

    KubernetesClusterStateProvider(UnaryOperator<String> environment) {
        this.environment = environment;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public ClusterState create(Map<String, String> settings) {
        return create(settings, JOIN_TIMEOUT);
    }

    KubernetesClusterState create(Map<String, String> settings, Duration joinTimeout) {
        Cidr clusterCIDR = null;
        String clusterCIDRText = settings.get(CLUSTER_CIDR);
        if (clusterCIDRText != null) {
            try {
                clusterCIDR = Cidr.parse(clusterCIDRText.strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(CLUSTER_CIDR + ": " + e.getMessage(), e);
            }
        }
        String kubeconfig = settings.get(KUBECONFIG);
        Config config = kubeconfig == null ? inClusterConfig() : kubeconfigFile(kubeconfig);
        return new KubernetesClusterState(config, clusterCIDR, joinTimeout);
    }

    private static Config kubeconfigFile(String value) {
        if (value.isBlank()) {
            throw new IllegalArgumentException(KUBECONFIG + ": empty; leave it out for the in-cluster configuration");
        }
        Path path = Path.of(value.strip());
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException(KUBECONFIG + ": " + path + " is not a readable file");
        }
        Config config;
        try {
            config = Config.fromKubeconfig(path.toFile());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(KUBECONFIG + ": " + path + " is not a usable kubeconfig: "
                    + e.getMessage(), e);
        }
        if (config.getMasterUrl() == null || config.getMasterUrl().isBlank()) {
            throw new IllegalArgumentException(KUBECONFIG + ": " + path
                    + " names no API server (no current context with a cluster server)");
        }
        return config;
    }

    private Config inClusterConfig() {
        if (environment.apply("KUBERNETES_SERVICE_HOST") == null) {
            throw new IllegalArgumentException(KUBECONFIG + ": not set, and this process is not in a pod "
                    + "(KUBERNETES_SERVICE_HOST is unset) to use the in-cluster configuration: give a kubeconfig path");
        }
        // fabric8's automatic configuration: in a pod it finds the service account (and re-reads its
        // token when the API server answers 401, as bound tokens rotate).
        return Config.autoConfigure(null);
    }
}
