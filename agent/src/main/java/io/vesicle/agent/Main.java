package io.vesicle.agent;

import io.vesicle.agent.cli.VesicleCli;
import java.util.Arrays;

/** {@code bin/vesicle}: the node agent and its command line ({@link VesicleCli}). */
public final class Main {
    private Main() {
    }

    public static void main(String[] argv) {
        System.exit(VesicleCli.run(Arrays.asList(argv), System.out, System.err));
    }
}
