package io.vesicle.cni;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests of the plugin against an {@link AgentStub}: each test gets a stub of its own, listening in a
 * fresh directory, and the stub is closed after the test. A subclass's own {@code @BeforeEach}
 * runs after the stub has started.
 */
abstract class AgentStubTest {
    @TempDir
    Path dir;
    AgentStub agent;

    @BeforeEach
    final void startAgentStub() throws Exception {
        agent = new AgentStub(dir);
    }

    @AfterEach
    final void closeAgentStub() throws Exception {
        agent.close();
    }
}
