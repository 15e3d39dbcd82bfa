package io.vesicle.loader;

import java.util.List;

/**
 * The layout of a struct as the object's BTF describes it: what host-side codecs are checked
 * against. Offsets and sizes are in bytes; an anonymous union or struct member has the name "";
 * a bitfield member reports the byte its first bit is in and its underlying type's size.
 */
public record BtfStruct(String name, int size, List<Member> members) {
    public BtfStruct {
        members = List.copyOf(members);
    }

    public record Member(String name, int offset, int size) {
    }

    /** The member called name; IllegalArgumentException naming it and the struct otherwise. */
    public Member member(String name) {
        for (Member member : members) {
            if (member.name().equals(name)) {
                return member;
            }
        }
        throw new IllegalArgumentException("struct " + this.name + " has no member " + name + " (members: "
                + members.stream().map(Member::name).toList() + ")");
    }
}
