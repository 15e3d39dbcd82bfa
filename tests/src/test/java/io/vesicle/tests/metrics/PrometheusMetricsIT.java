package io.vesicle.tests.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.Prometheus;
import io.vesicle.tests.support.Repo;
import io.vesicle.tests.support.Shell;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The agent's metrics as Prometheus sees them: Debian's Prometheus server runs in the node's
 * namespace (where the agent serves on its default address, 127.0.0.1:9962) and scrapes it every
 * second; everything is read back through Prometheus's query API. The node has lived a little
 * first: a pod created, the agent restarted (a restore), two pods created and the first deleted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(240)
class PrometheusMetricsIT extends CniNodeFixture {
    static final String AGENT_METRICS = "127.0.0.1:9962";
    static final Duration SCRAPE_INTERVAL = Duration.ofSeconds(1);
    static final Duration WITHIN = Duration.ofSeconds(30);
    /** A second address on pod a: packets from it are spoofed. */
    static final String SPOOFED_SOURCE = "10.244.1.200";
    static final int SPOOFED_PACKETS = 57;
    /** An echo request of ping's default size as the datapath counts it: Ethernet 14 + IPv4 20 + ICMP 8 + 56. */
    static final int ECHO_FRAME_BYTES = 98;

    Prometheus prometheus;
    CniNode.Pod a;
    CniNode.Pod b;
    String addressA;
    String addressB;

    @BeforeAll
    void liveALittleAndStartPrometheus() {
        CniNode.Pod c = node.pod("c");
        runtime.add(list, c.eth0());
        node.agent().terminate(Duration.ofSeconds(30));
        node.agent().start();
        a = node.pod("a");
        b = node.pod("b");
        addressA = CniNode.address(runtime.add(list, a.eth0()));
        addressB = CniNode.address(runtime.add(list, b.eth0()));
        runtime.del(list, c.eth0());
        prometheus = Prometheus.start(network, node.netns(), AGENT_METRICS, SCRAPE_INTERVAL);
        prometheus.awaitValue("up{job=\"vesicle\"}", v -> v == 1, WITHIN);
    }

    @AfterAll
    void stopPrometheus() {
        if (prometheus != null) {
            prometheus.close();
        }
    }

    String inPodA(String... command) {
        return Shell.check(Shell.inNetns(a.netns(), command).toArray(String[]::new));
    }

    @Test
    void aSpoofedFlowsDropsAreReadBackExactlyThroughPrometheus() throws IOException {
        assertTrue(Shell.awaitPing(a.netns(), addressB, Duration.ofSeconds(10)), "a reaches b");
        // The gateway's neighbour entry made permanent: no ARP from the spoofed source (counted
        // under another reason) and none missing, so every echo request reaches the datapath.
        JsonNode neighbour = CniRuntime.JSON.readTree(inPodA("ip", "-j", "neigh", "show", CniNode.GATEWAY,
                "dev", "eth0")).get(0);
        inPodA("ip", "neigh", "replace", CniNode.GATEWAY, "lladdr", neighbour.path("lladdr").asText(), "dev", "eth0",
                "nud", "permanent");
        inPodA("ip", "addr", "add", SPOOFED_SOURCE + "/32", "dev", "eth0");
        String packets = "vesicle_drop_packets_total{reason=\"invalid_source_ip\",direction=\"egress\"}";
        String bytes = "vesicle_drop_bytes_total{reason=\"invalid_source_ip\",direction=\"egress\"}";
        assertEquals(0, prometheus.awaitValue(packets, v -> !v.isNaN(), WITHIN), "nothing spoofed yet");

        Shell.Result ping = Shell.run(60, Shell.inNetns(a.netns(), "ping", "-c", String.valueOf(SPOOFED_PACKETS),
                "-i", "0.01", "-W", "1", "-I", SPOOFED_SOURCE, addressB));
        assertFalse(ping.ok(), "no spoofed echo request is answered: " + ping.stdout());
        assertTrue(ping.stdout().contains(SPOOFED_PACKETS + " packets transmitted"), ping.stdout());

        double dropped = prometheus.awaitValue(packets, v -> v >= SPOOFED_PACKETS, WITHIN);
        assertEquals(SPOOFED_PACKETS, dropped, "every spoofed packet counted once");
        assertEquals(SPOOFED_PACKETS * ECHO_FRAME_BYTES, prometheus.awaitValue(bytes,
                v -> v >= SPOOFED_PACKETS * ECHO_FRAME_BYTES, WITHIN));
        // The agent's own exposition says the same (and nothing was counted late).
        String exposition = prometheus.get("http://" + AGENT_METRICS + "/metrics").stdout();
        assertTrue(exposition.contains("vesicle_drop_packets_total{direction=\"egress\",reason=\"invalid_source_ip\"} "
                + SPOOFED_PACKETS + ".0"), "the agent's /metrics agrees");
        assertEquals(SPOOFED_PACKETS, prometheus.value("sum(" + packets + ")"));
    }

    @Test
    void podToPodTrafficIsCountedAsForwardedAndAllowed() {
        assertTrue(Shell.awaitPing(b.netns(), addressA, Duration.ofSeconds(10)), "b reaches a");
        String forwarded = "sum(vesicle_forward_packets_total{reason=\"forwarded\"})";
        // The starting point from the agent itself: Prometheus may not have scraped the last pings yet.
        double before = agentSum("vesicle_forward_packets_total{", "reason=\"forwarded\"");
        Shell.Result ping = Shell.run(60, Shell.inNetns(b.netns(), "ping", "-c", "10", "-i", "0.01", addressA));
        assertTrue(ping.ok(), ping.stdout());
        double expected = before + 20;
        assertEquals(expected, prometheus.awaitValue(forwarded, v -> v >= expected, WITHIN),
                "10 echo requests and 10 replies redirected between the pods");
        assertEquals(0, prometheus.value("sum(vesicle_policy_verdicts_total{verdict=\"deny\"})"), "no policy");
        assertEquals(prometheus.value("sum(vesicle_forward_packets_total)"),
                prometheus.value("sum(vesicle_policy_verdicts_total{verdict=\"allow\"})"),
                "without policy every packet let through is allowed");
    }

    /** The sum of the agent's own exposition lines of a metric whose labels contain labels. */
    double agentSum(String metric, String labels) {
        return prometheus.get("http://" + AGENT_METRICS + "/metrics").stdout().lines()
                .filter(l -> l.startsWith(metric) && l.contains(labels))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void theExpositionPassesPromtoolCheckMetrics() {
        Shell.Result check = Shell.run(60, Shell.inNetns(node.netns(), "sh", "-c",
                "curl -sSf http://" + AGENT_METRICS + "/metrics | promtool check metrics"));
        assertTrue(check.ok(), "promtool check metrics: " + check.stdout() + check.stderr());
        assertEquals("", (check.stdout() + check.stderr()).strip(), "no lint finding");
    }

    @Test
    void theProbesAnswer() {
        assertEquals("ok", prometheus.get("http://" + AGENT_METRICS + "/healthz").stdout().strip());
        assertEquals("ok", prometheus.get("http://" + AGENT_METRICS + "/readyz").stdout().strip());
        assertEquals(1, prometheus.awaitValue("vesicle_ready", v -> !v.isNaN(), WITHIN));
        assertEquals(1, prometheus.value("vesicle_cluster_state_healthy"), "no cluster state source: healthy");
    }

    @Test
    void endpointsMapsAndOperationsAreCountedAsTheyHappened() throws IOException {
        assertEquals(2, prometheus.awaitValue("vesicle_endpoints{state=\"ready\"}", v -> v == 2, WITHIN),
                "a and b are ready (c was deleted)");
        assertEquals(0, prometheus.value("sum(vesicle_endpoints) - sum(vesicle_endpoints{state=\"ready\"})"));
        // Map fill against the kernel's own view of the pinned maps.
        for (String map : List.of("vsl_endpoints", "vsl_lxc")) {
            Path pin = node.agent().pinRoot().resolve(map);
            int kernelEntries = CniRuntime.JSON.readTree(Shell.check("bpftool", "-j", "map", "dump", "pinned",
                    pin.toString())).size();
            int capacity = CniRuntime.JSON.readTree(Shell.check("bpftool", "-j", "map", "show", "pinned",
                    pin.toString())).path("max_entries").asInt();
            assertEquals(2, kernelEntries, map);
            assertEquals(kernelEntries, prometheus.awaitValue("vesicle_bpf_map_entries{map=\"" + map + "\"}",
                    v -> v == kernelEntries, WITHIN), map + " entries");
            assertEquals(capacity, prometheus.value("vesicle_bpf_map_capacity{map=\"" + map + "\"}"), map);
        }
        // Since the restart: one restore (regenerating c), a and b created, c deleted.
        assertEquals(1, prometheus.value("vesicle_endpoint_restore_seconds_count"));
        assertEquals(1, prometheus.value("vesicle_endpoint_regeneration_seconds_count"));
        assertEquals(2, prometheus.value("vesicle_endpoint_create_seconds_count"));
        assertEquals(1, prometheus.value("vesicle_endpoint_delete_seconds_count"));
        assertTrue(prometheus.value("vesicle_endpoint_create_seconds_sum") > 0);
        assertEquals(2, prometheus.value("vesicle_endpoint_create_seconds_bucket{le=\"+Inf\"}"));
    }

    /** Grafana's variables as the test's Prometheus can evaluate them. */
    static String substitute(String expr) {
        return expr.replace("$instance", ".+").replace("$__rate_interval", "20s");
    }

    static List<String> dashboardQueries() throws IOException {
        JsonNode dashboard = CniRuntime.JSON.readTree(Repo.root().resolve("docs/grafana/vesicle.json").toFile());
        List<String> queries = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.add(target.path("expr").asText());
            }
        }
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            String query = variable.path("query").path("query").asText("");
            if (query.startsWith("label_values(")) {
                queries.add(query.substring("label_values(".length(), query.indexOf(',')));
            }
        }
        return queries;
    }

    @Test
    void everyDashboardQueryReturnsASeries() throws IOException {
        List<String> queries = dashboardQueries();
        assertTrue(queries.size() >= 20, "the dashboard's queries: " + queries.size());
        for (String query : queries) {
            JsonNode series = prometheus.awaitSeries(substitute(query), WITHIN);
            assertTrue(series.size() >= 1, query);
        }
    }
}
