package io.vesicle.tests.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering the README promises, checked on the compiled product classes (tests excluded): a
 * change that breaks a rule fails here naming the class and the dependency.
 */
class ArchitectureTest {
    static JavaClasses product;

    @BeforeAll
    static void importProduct() {
        // The product's classes come from the modules' directories or jars, whichever the build put
        // on the class path; only io.vesicle is imported, so third-party jars stay out.
        product = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.vesicle");
    }

    static void check(ArchRule rule) {
        rule.check(product);
    }

    @Test
    void theLoaderKnowsNothingAboveIt() {
        check(noClasses().that().resideInAPackage("io.vesicle.loader..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.maps..", "io.vesicle.api..",
                        "io.vesicle.agent..", "io.vesicle.cni.."));
    }

    @Test
    void mapsBuildOnTheLoaderOnly() {
        check(noClasses().that().resideInAPackage("io.vesicle.maps..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.api..", "io.vesicle.agent..",
                        "io.vesicle.cni.."));
    }

    @Test
    void onlyTheAgentsDatapathTouchesTheLoaderAndMaps() {
        check(noClasses().that().resideInAPackage("io.vesicle.agent..")
                .and().resideOutsideOfPackage("io.vesicle.agent.datapath..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.loader..", "io.vesicle.maps.."));
    }

    @Test
    void theDomainImportsNoApiType() {
        check(noClasses().that().resideInAnyPackage("io.vesicle.agent.endpoint..", "io.vesicle.agent.ipam..",
                        "io.vesicle.agent.datapath..", "io.vesicle.agent.core..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.agent.api..", "io.vesicle.api.."));
    }

    @Test
    void thePluginImportsNothingOfTheAgentNorHeavyLibraries() {
        check(noClasses().that().resideInAPackage("io.vesicle.cni..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.agent..", "io.vesicle.loader..",
                        "io.vesicle.maps..", "com.fasterxml.jackson..", "org.eclipse.jetty.."));
    }

    @Test
    void theApiModuleServesBothSidesWithoutTheAgent() {
        check(noClasses().that().resideInAPackage("io.vesicle.api..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.agent..", "io.vesicle.cni..",
                        "io.vesicle.loader..", "io.vesicle.maps.."));
    }

    @Test
    void theAgentCoreCarriesNoClusterClientLibraries() {
        check(noClasses().that().resideInAnyPackage("io.vesicle.agent..", "io.vesicle.cluster")
                .should().dependOnClassesThat().resideInAnyPackage("io.fabric8..", "io.etcd..", "io.grpc..",
                        "io.vertx.."));
    }

    @Test
    void theClusterSourcesKnowNothingOfTheAgentOrTheDatapath() {
        check(noClasses().that().resideInAPackage("io.vesicle.cluster..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vesicle.agent..", "io.vesicle.loader..",
                        "io.vesicle.maps..", "io.vesicle.api..", "io.vesicle.cni.."));
    }
}
