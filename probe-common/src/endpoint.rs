//! The endpoints map: host-side veth ifindex → the endpoint behind it.

/// Value of the endpoints map, keyed by the ifindex (u32) of the endpoint's host-side veth.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EndpointInfo {
    /// Endpoint id (the policy map's `endpoint_id`).
    pub endpoint_id: u16,
    /// Bit flags, see [`flags`].
    pub flags: u8,
    /// Always 0.
    pub pad: u8,
    /// The endpoint's security identity.
    pub identity: u32,
    /// Bumped by userspace on every change of this endpoint's policy entries. Conntrack
    /// entries remember the revision they were verified at; an established flow whose entry
    /// is older is checked against the policy again (and cut if no longer allowed).
    pub policy_revision: u32,
}
const _: () = assert!(core::mem::size_of::<EndpointInfo>() == 12);

impl EndpointInfo {
    /// Whether the endpoint enforces policy in `dir` ([`crate::direction`]).
    #[inline(always)]
    pub fn enforces(&self, dir: u8) -> bool {
        self.has(dir, flags::INGRESS_ENFORCED, flags::EGRESS_ENFORCED)
    }

    /// Whether policies in audit mode select the endpoint in `dir`: its entries with the
    /// audited policies sit under [`crate::direction::audit_of`]`(dir)` in the policy map.
    #[inline(always)]
    pub fn audits(&self, dir: u8) -> bool {
        self.has(dir, flags::INGRESS_AUDIT, flags::EGRESS_AUDIT)
    }

    /// Whether this is the node's host endpoint on a network device.
    #[inline(always)]
    pub fn is_host(&self) -> bool {
        self.flags & flags::HOST != 0
    }

    /// Whether the flag of `dir` (`ingress` or `egress`) is set.
    #[inline(always)]
    fn has(&self, dir: u8, ingress: u8, egress: u8) -> bool {
        let flag = if dir == crate::direction::INGRESS {
            ingress
        } else {
            egress
        };
        self.flags & flag != 0
    }
}

/// The endpoints-map key of the node's host endpoint for the pods' programs (host
/// firewall): no interface has index 0, so the entry cannot be an interface's. New
/// connections between a pod and its node are decided by it too.
pub const HOST_ENDPOINT_KEY: u32 = 0;

/// Flags of [`EndpointInfo::flags`].
pub mod flags {
    /// Ingress policy is enforced: traffic to the endpoint needs an allow entry.
    pub const INGRESS_ENFORCED: u8 = 1 << 0;
    /// Egress policy is enforced: traffic from the endpoint needs an allow entry.
    pub const EGRESS_ENFORCED: u8 = 1 << 1;
    /// Policies in audit mode select the endpoint at ingress: what they would deny of
    /// the traffic the enforced policies allow is reported AUDIT (and passes).
    pub const INGRESS_AUDIT: u8 = 1 << 2;
    /// The same at egress.
    pub const EGRESS_AUDIT: u8 = 1 << 3;
    /// The node's host endpoint on one of its network devices (host firewall): only the
    /// node's own packets (from or to an address with the host identity) are its traffic;
    /// what the node forwards for its pods passes, judged on the pods' own veths.
    pub const HOST: u8 = 1 << 4;
}
