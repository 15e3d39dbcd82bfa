package io.vesicle.cluster.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.LocalNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static io.vesicle.cluster.etcd.EtcdCalls.await;
import static io.vesicle.cluster.etcd.EtcdCalls.bytes;

/**
 * One test's corner of an etcd: its own key prefix, the cluster states it opened (closed at the
 * end) and a plain jetcd client standing for other agents and operators writing to the store.
 */
final class Fixture implements AutoCloseable {
    static final String CLUSTER_CIDR = "10.244.0.0/16";
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    final String prefix = "/vesicle-test-" + ProcessHandle.current().pid() + "-" + PREFIXES.incrementAndGet();
    final Client store;
    private final EtcdProcess etcd;
    private final List<EtcdClusterState> opened = new ArrayList<>();

    Fixture(EtcdProcess etcd) {
        this.etcd = etcd;
        this.store = Client.builder().endpoints(etcd.endpoint()).build();
    }

    Map<String, String> settings(int leaseTTLSeconds) {
        Map<String, String> settings = new HashMap<>();
        settings.put("etcdEndpoints", etcd.endpoint());
        settings.put("etcdPrefix", prefix);
        settings.put("etcdLeaseTTL", Integer.toString(leaseTTLSeconds));
        settings.put("clusterCIDR", CLUSTER_CIDR);
        settings.put("nodeCIDRMaskSize", "24");
        return settings;
    }

    EtcdClusterState open(Map<String, String> settings, StoreWatch.SyncHooks hooks) {
        EtcdClusterState state = new EtcdClusterState(EtcdSettings.parse(settings), hooks);
        synchronized (opened) {
            opened.add(state);
        }
        return state;
    }

    EtcdClusterState open(int leaseTTLSeconds) {
        return open(settings(leaseTTLSeconds), StoreWatch.SyncHooks.NONE);
    }

    static LocalNode local(String name, int host) {
        return new LocalNode(name, Cidr.parseAddress("192.168.50." + host));
    }

    String key(String relative) {
        return prefix + "/" + relative;
    }

    void put(String relative, String value) {
        await(store.getKVClient().put(bytes(key(relative)), bytes(value)), "test put");
    }

    void delete(String relative) {
        await(store.getKVClient().delete(bytes(key(relative))), "test delete");
    }

    Optional<KeyValue> get(String relative) {
        return await(store.getKVClient().get(bytes(key(relative))), "test get").getKvs().stream().findFirst();
    }

    List<KeyValue> list(String relative) {
        return await(store.getKVClient().get(bytes(key(relative)), GetOption.builder().isPrefix(true).build()),
                "test list").getKvs();
    }

    static String nodeJson(String name, String underlayIP, String podCIDR) {
        return "{\"name\":\"" + name + "\",\"underlayIP\":\"" + underlayIP + "\",\"podCIDR\":\"" + podCIDR + "\"}";
    }

    static String podJson(String node, String namespace, String name, String ip) {
        return "{\"namespace\":\"" + namespace + "\",\"name\":\"" + name + "\",\"ip\":\"" + ip
                + "\",\"nodeName\":\"" + node + "\",\"labels\":{\"app\":\"" + name + "\"}}";
    }

    /** Polls condition until it holds or the deadline passes. */
    static void awaitTrue(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + timeout);
            }
            Thread.sleep(20);
        }
    }

    @Override
    public void close() {
        synchronized (opened) {
            opened.forEach(EtcdClusterState::close);
        }
        store.close();
    }
}
