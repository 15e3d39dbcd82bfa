package io.vesicle.tests.agent;

import io.vesicle.agent.endpoint.EndpointManager;
import java.util.function.Consumer;

/**
 * A {@link EndpointManager.Checkpoint} that fails for real at a chosen step: a RuntimeException,
 * as a netlink or map call would throw, so the agent's own undo paths run (an Error would skip
 * them). Disarmed it does nothing; {@link #during} runs an action at a step instead, a fault in
 * the kernel objects made between two of the agent's steps.
 */
final class Fault implements EndpointManager.Checkpoint {
    /** What the agent meets at the armed step. */
    static final class Injected extends RuntimeException {
        Injected(String step) {
            super("injected fault at " + step);
        }
    }

    private volatile String step;
    private volatile boolean once;
    private volatile Consumer<String> action;

    /** Fails the next time step is reached, then disarms. */
    void once(String step) {
        arm(step, true, null);
    }

    /** Fails every time step is reached (every endpoint's restore, say) until disarmed. */
    void always(String step) {
        arm(step, false, null);
    }

    /** Runs action (given the step) the next time step is reached, without failing the step. */
    void during(String step, Consumer<String> action) {
        arm(step, true, action);
    }

    void disarm() {
        step = null;
        action = null;
    }

    private synchronized void arm(String step, boolean once, Consumer<String> action) {
        this.once = once;
        this.action = action;
        this.step = step;
    }

    @Override
    public void reached(String reached) {
        Consumer<String> run;
        synchronized (this) {
            if (!reached.equals(step)) {
                return;
            }
            run = action;
            if (once) {
                disarm();
            }
        }
        if (run != null) {
            run.accept(reached);
            return;
        }
        throw new Injected(reached);
    }
}
