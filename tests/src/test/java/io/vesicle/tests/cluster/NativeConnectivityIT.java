package io.vesicle.tests.cluster;

import io.vesicle.tests.support.Topology;

/** The cluster's connectivity in native routing mode: no encapsulation, a route per remote pod CIDR. */
class NativeConnectivityIT extends ClusterConnectivityTestBase {
    @Override
    Topology.Mode mode() {
        return Topology.Mode.NATIVE;
    }
}
