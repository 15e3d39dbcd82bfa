package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** libnftables inside a throwaway namespace; {@code nft list ruleset} through nsenter is the witness. */
@Timeout(60)
class NftablesTest {
    private static final String TABLE = """
            table ip vt {
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 oifname "eth0" masquerade
              }
            }
            """;

    private String name;
    private NetNs ns;

    @BeforeEach
    void createNamespace() {
        name = TestSupport.netnsName();
        TestSupport.run("ip", "netns", "add", name);
        ns = NetNs.named(name);
    }

    @AfterEach
    void deleteNamespace() {
        if (ns != null) {
            ns.close();
        }
        TestSupport.runQuietly("ip", "netns", "del", name);
    }

    private String ruleset() {
        return TestSupport.run("nsenter", "--net=/var/run/netns/" + name, "--", "nft", "list", "ruleset");
    }

    @Test
    void appliesATableInTheNamespaceOnly() {
        Nftables.apply(ns, TABLE);

        String listed = ruleset();
        assertTrue(listed.contains("table ip vt"), listed);
        assertTrue(listed.contains("oifname \"eth0\" masquerade"), listed);
        assertTrue(Nftables.apply(ns, "list table ip vt").contains("masquerade"));
        assertFalse(Nftables.apply(null, "list tables").contains("table ip vt"),
                "the table must be in the namespace only");
    }

    @Test
    void replacesATableAtomically() {
        Nftables.apply(ns, TABLE);
        String replacement = "table ip vt\ndelete table ip vt\n" + TABLE.replace("eth0", "eth1");
        Nftables.apply(ns, replacement);
        Nftables.apply(ns, replacement);

        String listed = ruleset();
        assertTrue(listed.contains("\"eth1\""), listed);
        assertFalse(listed.contains("\"eth0\""), listed);
        assertEquals(1, listed.split("masquerade", -1).length - 1, listed);
    }

    @Test
    void aRefusedBufferChangesNothingAndSaysWhy() {
        Nftables.apply(ns, TABLE);
        NftablesException refused = assertThrows(NftablesException.class, () -> Nftables.apply(ns,
                "delete table ip vt\nadd rule ip vt nochain ip saddr 10.0.0.1 accept"));

        assertTrue(refused.nftError().startsWith("Error:"), refused.nftError());
        assertTrue(refused.getMessage().contains(refused.nftError()), refused.getMessage());
        assertTrue(refused.getMessage().contains(name), refused.getMessage());
        assertTrue(ruleset().contains("masquerade"), "the first table must be untouched");
    }
}
