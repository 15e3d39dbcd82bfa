package io.vesicle.agent.datapath;

import java.net.Inet4Address;
import java.time.Instant;

/**
 * A datapath event as the agent hands it on: a drop, a sampled trace of a packet let through, or
 * a policy verdict.
 *
 * @param type        "drop", "trace" or "policy-verdict"
 * @param verdict     "dropped", "forwarded" (traces: the packet went on), "allowed" or "denied"
 * @param reason      the datapath's reason label ("invalid_source_ip", "forwarded", ...)
 * @param direction   "ingress" (towards the endpoint) or "egress" (from it)
 * @param endpoint    the local endpoint's id; 0 when none
 * @param source      null when the packet was no IPv4 the datapath could read (then destination
 *                    is null and protocol and ports 0)
 * @param length      bytes, link-layer header included
 */
public record FlowEvent(Instant time, String type, String verdict, String reason, String direction, int ifindex,
                        int endpoint, int sourceIdentity, int destinationIdentity, Inet4Address source,
                        Inet4Address destination, int protocol, int sourcePort, int destinationPort, int length) {
}
