//! The ipcache: IP prefix → security identity, as an LPM trie over IPv4 and IPv6.
//!
//! Pods and nodes are /32 (/128) entries, CIDR identities are their prefix, and `0.0.0.0/0`
//! and `::/0` carry the world identities, so every lookup finds an identity.

/// Address family value for IPv4 in [`IpCacheKey::family`].
pub const FAMILY_V4: u8 = 4;
/// Address family value for IPv6 in [`IpCacheKey::family`].
pub const FAMILY_V6: u8 = 6;

/// Identity `reserved:world`: what the datapath uses when no ipcache entry covers an address
/// (userspace installs `0.0.0.0/0` and `::/0`, so this is only a safety net).
pub const WORLD_IDENTITY: u32 = crate::identity::WORLD;

/// Bits of [`IpCacheKey`] before the address (family and padding), always matched.
pub const PREFIX_BEFORE_ADDR: u32 = 32;

/// Key of the ipcache LPM trie (the `data` part). IPv4 addresses occupy the first four bytes
/// of `addr`; the rest is zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpCacheKey {
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
    /// Always 0.
    pub pad: [u8; 3],
    /// Address in network byte order.
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<IpCacheKey>() == 20);

impl IpCacheKey {
    /// The LPM prefix length for an address prefix of `ip_prefix_len` bits.
    pub const fn prefix_len(ip_prefix_len: u8) -> u32 {
        PREFIX_BEFORE_ADDR + ip_prefix_len as u32
    }
}

/// Value of the ipcache LPM trie.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IpCacheEntry {
    /// Security identity of the addresses under this prefix.
    pub identity: u32,
    /// Bit flags, see [`entry_flags`].
    pub flags: u8,
    /// Always 0.
    pub pad: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<IpCacheEntry>() == 8);

impl IpCacheEntry {
    /// An entry for `identity` without flags.
    pub const fn new(identity: u32) -> Self {
        Self {
            identity,
            flags: 0,
            pad: [0; 3],
        }
    }
}

/// Flags of [`IpCacheEntry::flags`].
pub mod entry_flags {
    /// A DNS-learned address whose TTL ran out while a connection to it was open (a
    /// "zombie"): the open connections keep its identity, but a new connection to it is
    /// decided as a connection to the world.
    pub const ZOMBIE: u8 = 1;
}
