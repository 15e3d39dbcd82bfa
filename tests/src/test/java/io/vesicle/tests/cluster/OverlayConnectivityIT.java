package io.vesicle.tests.cluster;

import io.vesicle.tests.support.Topology;

/** The cluster's connectivity in overlay mode: VXLAN (UDP 8472) encapsulated in BPF. */
class OverlayConnectivityIT extends ClusterConnectivityTestBase {
    @Override
    Topology.Mode mode() {
        return Topology.Mode.OVERLAY;
    }
}
