package io.vesicle.agent.datapath;

import java.util.Set;

/**
 * Which events a subscriber wants: each non-empty set must match (an identity or port matches
 * either side of the packet); an empty set matches anything.
 */
public record EventFilter(Set<String> types, Set<Integer> endpoints, Set<Integer> identities, Set<Integer> ports,
                          Set<String> verdicts) {
    public static final EventFilter ALL = new EventFilter(Set.of(), Set.of(), Set.of(), Set.of(), Set.of());

    public EventFilter {
        types = Set.copyOf(types);
        endpoints = Set.copyOf(endpoints);
        identities = Set.copyOf(identities);
        ports = Set.copyOf(ports);
        verdicts = Set.copyOf(verdicts);
    }

    public boolean test(FlowEvent e) {
        return (types.isEmpty() || types.contains(e.type()))
                && (endpoints.isEmpty() || endpoints.contains(e.endpoint()))
                && (identities.isEmpty() || identities.contains(e.sourceIdentity())
                        || identities.contains(e.destinationIdentity()))
                && (ports.isEmpty() || ports.contains(e.sourcePort()) || ports.contains(e.destinationPort()))
                && (verdicts.isEmpty() || verdicts.contains(e.verdict()));
    }
}
