package io.vesicle.agent.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Arrays;
import java.util.List;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may use the API: root, and when a group is configured its members. The socket file's mode
 * says the same to the kernel (0600, or 0660 with the group); the peer's credentials
 * (SO_PEERCRED) are checked again on every connection, so a file mode changed by mistake or a
 * descriptor passed on does not open the API to anyone else.
 *
 * <p>Principals are compared by the JDK by numeric id; names are used only for messages and for
 * supplementary membership, which SO_PEERCRED does not carry: a peer whose primary group is not
 * the configured one is a member when the group's entry in /etc/group lists its user name.
 */
public final class ApiAccess {
    private static final Path GROUP_FILE = Path.of("/etc/group");
    /** uid 0 whatever its name: a numeric name that is no user's is taken as the id. */
    private static final UserPrincipal ROOT = rootPrincipal();

    private final GroupPrincipal group;
    private final String groupName;
    private final Path groupFile;

    private ApiAccess(GroupPrincipal group, String groupName, Path groupFile) {
        this.group = group;
        this.groupName = groupName;
        this.groupFile = groupFile;
    }

    /** Root only: the socket is 0600. */
    public static ApiAccess rootOnly() {
        return new ApiAccess(null, null, GROUP_FILE);
    }

    /**
     * Root and the members of group (a name or a numeric id); null is {@link #rootOnly()}.
     *
     * @throws IllegalArgumentException when there is no such group
     */
    public static ApiAccess rootOrGroup(String group) {
        return group == null ? rootOnly() : rootOrGroup(group, GROUP_FILE);
    }

    static ApiAccess rootOrGroup(String group, Path groupFile) {
        GroupPrincipal principal;
        try {
            principal = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (UserPrincipalNotFoundException e) {
            throw new IllegalArgumentException("there is no group '" + group + "'");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look up the group '" + group + "': " + e.getMessage(), e);
        }
        return new ApiAccess(principal, group, groupFile);
    }

    /** The group the socket file gets (mode 0660), or null (mode 0600). */
    public GroupPrincipal group() {
        return group;
    }

    /** Null when peer may use the API, else why not (for the log). */
    String refusal(UnixDomainPrincipal peer) {
        if (peer.user().equals(ROOT)) {
            return null;
        }
        if (group == null) {
            return "user " + describe(peer) + " is not root";
        }
        if (peer.group().equals(group) || listedMember(peer.user().getName())) {
            return null;
        }
        return "user " + describe(peer) + " is neither root nor a member of group " + groupName;
    }

    private boolean listedMember(String user) {
        List<String> lines;
        try {
            lines = Files.readAllLines(groupFile);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + groupFile + ": " + e.getMessage(), e);
        }
        for (String line : lines) {
            String[] fields = line.split(":", -1); // name:password:gid:member,member
            if (fields.length == 4 && (fields[0].equals(groupName) || fields[2].equals(groupName))) {
                return Arrays.asList(fields[3].split(",")).contains(user);
            }
        }
        return false;
    }

    private static String describe(UnixDomainPrincipal peer) {
        return peer.user().getName() + " (group " + peer.group().getName() + ")";
    }

    private static UserPrincipal rootPrincipal() {
        try {
            return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("0");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look up uid 0: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return group == null ? "root only" : "root and group " + groupName;
    }
}
