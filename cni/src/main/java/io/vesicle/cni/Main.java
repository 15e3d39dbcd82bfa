package io.vesicle.cni;

/** Placeholder until the plugin lands. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(1);
    }
}
