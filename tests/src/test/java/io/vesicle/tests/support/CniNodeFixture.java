package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * CNI tests against one node: a fresh {@link TestNetwork} with a {@link CniNode} "node" (its agent
 * started and healthy), its runtime and the usual list, for each test; for the whole class when it
 * is {@code @TestInstance(PER_CLASS)}. Afterwards the agent is closed and the network with it.
 *
 * <p>The node is up before a subclass's own {@code @BeforeEach} (or {@code @BeforeAll}) runs, and
 * goes only after its {@code @AfterEach} (or {@code @AfterAll}), so a subclass states only what it
 * adds: pods, pools, its own lists.
 */
@ExtendWith(CniNodeFixture.Lifecycle.class)
public abstract class CniNodeFixture {
    protected TestNetwork network;
    protected CniNode node;
    protected CniRuntime runtime;
    /** {@link CniNode#list()}: only our plugin, CNI 1.1.0. */
    protected JsonNode list;

    private void startNode() {
        network = new TestNetwork();
        node = CniNode.start(network, "node");
        runtime = node.runtime();
        list = node.list();
    }

    private void closeNode() {
        try {
            if (node != null) {
                node.agent().close();
            }
        } finally {
            if (network != null) {
                network.close();
            }
        }
    }

    /** Starts and closes the node around each test, or around the class for PER_CLASS. */
    static final class Lifecycle implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback,
            AfterAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            if (perClass(context)) {
                fixture(context).startNode();
            }
        }

        @Override
        public void beforeEach(ExtensionContext context) {
            if (!perClass(context)) {
                fixture(context).startNode();
            }
        }

        @Override
        public void afterEach(ExtensionContext context) {
            if (!perClass(context)) {
                fixture(context).closeNode();
            }
        }

        @Override
        public void afterAll(ExtensionContext context) {
            if (perClass(context)) {
                fixture(context).closeNode();
            }
        }

        private static boolean perClass(ExtensionContext context) {
            return context.getTestInstanceLifecycle().orElseThrow() == TestInstance.Lifecycle.PER_CLASS;
        }

        private static CniNodeFixture fixture(ExtensionContext context) {
            return (CniNodeFixture) context.getRequiredTestInstance();
        }
    }
}
