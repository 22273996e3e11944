//! Drop reasons the datapath reports: Hubble's `DropReason` codes (flow.proto), shared with
//! the observer's decoder and the CLI's texts.

/// No allow entry matched under default deny ("Policy denied").
pub const POLICY_DENIED: u8 = 133;
/// A deny entry matched ("Policy denied by denylist").
pub const POLICY_DENY: u8 = 181;
/// The IP header is malformed ("Invalid packet").
pub const INVALID_PACKET: u8 = 134;
/// The L4 header is truncated ("CT: Truncated or invalid header").
pub const CT_TRUNCATED_OR_INVALID_HEADER: u8 = 135;
/// The ethertype is not IPv4, IPv6 or ARP ("Unsupported L3 protocol").
pub const UNSUPPORTED_L3_PROTOCOL: u8 = 139;
/// Conntrack could not record the connection ("CT: Map insertion failed").
pub const CT_MAP_INSERTION_FAILED: u8 = 155;
/// An IPv6 extension header chain could not be walked ("Invalid IPv6 extension header").
pub const INVALID_IPV6_EXTENSION_HEADER: u8 = 156;
/// A non-first fragment whose first fragment was not seen
/// ("IP fragmentation not supported").
pub const FRAG_NOT_SUPPORTED: u8 = 157;
/// A packet for the L7 proxy found no proxy socket ("Socket lookup failed").
pub const PROXY_LOOKUP_FAILED: u8 = 178;
/// A packet for the L7 proxy could not be handed to its socket ("Socket assign failed").
pub const PROXY_ASSIGN_FAILED: u8 = 179;
/// A packet for the L7 proxy in a protocol it cannot proxy
/// ("Proxy redirection not supported for protocol").
pub const PROXY_UNKNOWN_PROTOCOL: u8 = 180;
/// The packet came from a veth with no endpoint registered
/// ("Endpoint policy program not available").
pub const EP_NOT_READY: u8 = 203;

/// The text Hubble prints for a drop reason (the compact format's TYPE column), for every
/// code of Hubble's `DropReason` enum.
pub const fn known_text(reason: u8) -> Option<&'static str> {
    Some(match reason {
        130 => "Invalid source mac",
        131 => "Invalid destination mac",
        132 => "Invalid source ip",
        133 => "Policy denied",
        134 => "Invalid packet",
        135 => "CT: Truncated or invalid header",
        136 => "Fragmentation needed",
        137 => "CT: Unknown L4 protocol",
        138 => "CT: Can't create entry from packet",
        139 => "Unsupported L3 protocol",
        140 => "Missed tail call",
        141 => "Error writing to packet",
        142 => "Unknown L4 protocol",
        143 => "Unknown ICMPv4 code",
        144 => "Unknown ICMPv4 type",
        145 => "Unknown ICMPv6 code",
        146 => "Unknown ICMPv6 type",
        147 => "Error retrieving tunnel key",
        148 => "Error retrieving tunnel options",
        149 => "Invalid Geneve option",
        150 => "Unknown L3 target address",
        151 => "Stale or unroutable IP",
        152 => "No matching local container found",
        153 => "Error while correcting L3 checksum",
        154 => "Error while correcting L4 checksum",
        155 => "CT: Map insertion failed",
        156 => "Invalid IPv6 extension header",
        157 => "IP fragmentation not supported",
        158 => "Service backend not found",
        160 => "No tunnel/encapsulation endpoint (datapath BUG!)",
        161 => "NAT 46/64 not enabled",
        162 => "Reached EDT rate-limiting drop horizon",
        163 => "Unknown connection tracking state",
        164 => "Local host is unreachable",
        165 => "No configuration available to perform policy decision",
        166 => "Unsupported L2 protocol",
        167 => "No mapping for NAT masquerade",
        168 => "Unsupported protocol for NAT masquerade",
        169 => "FIB lookup failed",
        170 => "Encapsulation traffic is prohibited",
        171 => "Invalid identity",
        172 => "Unknown sender",
        173 => "NAT not needed",
        174 => "Is a ClusterIP",
        175 => "First logical datagram fragment not found",
        176 => "Forbidden ICMPv6 message",
        177 => "Denied by LB src range check",
        178 => "Socket lookup failed",
        179 => "Socket assign failed",
        180 => "Proxy redirection not supported for protocol",
        181 => "Policy denied by denylist",
        182 => "VLAN traffic disallowed by VLAN filter",
        183 => "Incorrect VNI from VTEP",
        184 => "Failed to update or lookup TC buffer",
        185 => "No SID was found for the IP address",
        186 => "SRv6 state was removed during tail call",
        187 => "L3 translation from IPv4 to IPv6 failed (NAT46)",
        188 => "L3 translation from IPv6 to IPv4 failed (NAT64)",
        189 => "Authentication required",
        190 => "No conntrack map found",
        191 => "No nat map found",
        192 => "Invalid ClusterID",
        193 => "Unsupported packet protocol for DSR encapsulation",
        194 => "No egress gateway found",
        195 => "Traffic is unencrypted",
        196 => "TTL exceeded",
        197 => "No node ID found",
        198 => "Rate limited",
        199 => "IGMP handled",
        200 => "IGMP subscribed",
        201 => "Multicast handled",
        202 => "Host datapath not ready",
        203 => "Endpoint policy program not available",
        204 => "No Egress IP configured",
        205 => "Punt to proxy",
        _ => return None,
    })
}

/// [`known_text`], or "Unknown drop reason".
pub const fn text(reason: u8) -> &'static str {
    match known_text(reason) {
        Some(text) => text,
        None => "Unknown drop reason",
    }
}

/// Hubble's `DropReason` enum name for a code (what `drop_reason_desc` prints in JSON).
pub const fn name(reason: u8) -> &'static str {
    match reason {
        130 => "INVALID_SOURCE_MAC",
        131 => "INVALID_DESTINATION_MAC",
        132 => "INVALID_SOURCE_IP",
        133 => "POLICY_DENIED",
        134 => "INVALID_PACKET_DROPPED",
        135 => "CT_TRUNCATED_OR_INVALID_HEADER",
        136 => "CT_MISSING_TCP_ACK_FLAG",
        137 => "CT_UNKNOWN_L4_PROTOCOL",
        138 => "CT_CANNOT_CREATE_ENTRY_FROM_PACKET",
        139 => "UNSUPPORTED_L3_PROTOCOL",
        140 => "MISSED_TAIL_CALL",
        141 => "ERROR_WRITING_TO_PACKET",
        142 => "UNKNOWN_L4_PROTOCOL",
        143 => "UNKNOWN_ICMPV4_CODE",
        144 => "UNKNOWN_ICMPV4_TYPE",
        145 => "UNKNOWN_ICMPV6_CODE",
        146 => "UNKNOWN_ICMPV6_TYPE",
        151 => "STALE_OR_UNROUTABLE_IP",
        155 => "CT_MAP_INSERTION_FAILED",
        156 => "INVALID_IPV6_EXTENSION_HEADER",
        157 => "IP_FRAGMENTATION_NOT_SUPPORTED",
        163 => "UNKNOWN_CONNECTION_TRACKING_STATE",
        171 => "INVALID_IDENTITY",
        176 => "FORBIDDEN_ICMPV6_MESSAGE",
        178 => "PROXY_LOOKUP_FAILED",
        179 => "PROXY_SET_FAILED",
        180 => "PROXY_UNKNOWN_PROTOCOL",
        181 => "POLICY_DENY",
        189 => "AUTH_REQUIRED",
        198 => "DROP_RATE_LIMITED",
        203 => "DROP_EP_NOT_READY",
        _ => "DROP_REASON_UNKNOWN",
    }
}
