package io.vesicle.tests.support;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the built commands are: the repository's root, found from the working directory up. */
public final class Repo {
    private static final Path ROOT = find();

    private Repo() {
    }

    public static Path root() {
        return ROOT;
    }

    /** bin/vesicle: the agent and command line. */
    public static Path vesicle() {
        return ROOT.resolve("bin/vesicle");
    }

    /** bin/vesicle-cni: the CNI plugin. */
    public static Path vesicleCni() {
        return ROOT.resolve("bin/vesicle-cni");
    }

    private static Path find() {
        String configured = System.getProperty("vesicle.root");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("bin/vesicle")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no repository root (bin/vesicle) above " + Path.of("").toAbsolutePath()
                + "; set -Dvesicle.root");
    }
}
