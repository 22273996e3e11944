//! [`PortRange`]: an inclusive range of ports (or ICMP types), and its decomposition into
//! the bit prefixes an LPM key can express.

use std::fmt;

/// Inclusive port range. [`PortRange::ALL`] is the wildcard.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port (inclusive); `>= lo`.
    pub hi: u16,
}

impl PortRange {
    /// Every port.
    pub const ALL: Self = Self {
        lo: 0,
        hi: u16::MAX,
    };

    /// One port.
    pub const fn single(port: u16) -> Self {
        Self { lo: port, hi: port }
    }

    /// `lo..=hi`; an `hi` below `lo` means the single port `lo` (as Cilium treats
    /// `endPort <= port`).
    pub fn new(lo: u16, hi: u16) -> Self {
        Self { lo, hi: hi.max(lo) }
    }

    /// Whether this is the wildcard.
    pub fn is_all(&self) -> bool {
        *self == Self::ALL
    }

    /// Whether `port` is inside.
    pub fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }

    /// Whether `other` is entirely inside.
    pub fn covers(&self, other: &PortRange) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    /// The minimal list of `(base, bits)` prefixes whose union is this range: each covers
    /// the ports whose top `bits` bits equal those of `base` (bits 0 = every port, 16 = one).
    pub fn prefixes(&self) -> Vec<(u16, u8)> {
        let mut out = Vec::new();
        let (mut lo, hi) = (u32::from(self.lo), u32::from(self.hi));
        while lo <= hi {
            // Largest aligned block starting at `lo` that stays within `hi`.
            let mut size = if lo == 0 {
                1 << 16
            } else {
                1u32 << lo.trailing_zeros()
            };
            while lo + size - 1 > hi {
                size >>= 1;
            }
            out.push((lo as u16, 16 - size.trailing_zeros() as u8));
            lo += size;
        }
        out
    }

    /// Bits of the prefix (from [`PortRange::prefixes`]) that contains `port`, if any:
    /// the specificity an LPM lookup of `port` sees for this range.
    pub fn prefix_bits_at(&self, port: u16) -> Option<u8> {
        self.prefixes()
            .into_iter()
            .find(|&(base, bits)| prefix_contains(base, bits, port))
            .map(|(_, bits)| bits)
    }
}

fn prefix_contains(base: u16, bits: u8, port: u16) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u16::MAX << (16 - bits)
    };
    port & mask == base & mask
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            f.write_str("*")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn union(prefixes: &[(u16, u8)]) -> Vec<u16> {
        (0..=u16::MAX)
            .filter(|&p| {
                prefixes
                    .iter()
                    .any(|&(b, bits)| prefix_contains(b, bits, p))
            })
            .collect()
    }

    #[test]
    fn wildcard_and_single_ports_are_one_prefix() {
        assert_eq!(PortRange::ALL.prefixes(), vec![(0, 0)]);
        assert_eq!(PortRange::single(80).prefixes(), vec![(80, 16)]);
        assert_eq!(PortRange::single(0).prefixes(), vec![(0, 16)]);
        assert_eq!(PortRange::single(65535).prefixes(), vec![(65535, 16)]);
    }

    #[test]
    fn aligned_ranges_are_one_prefix() {
        assert_eq!(PortRange::new(4096, 8191).prefixes(), vec![(4096, 4)]);
        assert_eq!(PortRange::new(32768, 65535).prefixes(), vec![(32768, 1)]);
    }

    #[test]
    fn unaligned_ranges_cover_exactly_their_ports() {
        for (lo, hi) in [
            (80, 100),
            (1, 65535),
            (1023, 1025),
            (8080, 8090),
            (0, 65534),
        ] {
            let r = PortRange::new(lo, hi);
            let ports = union(&r.prefixes());
            assert_eq!(ports.first(), Some(&lo), "{r}");
            assert_eq!(ports.last(), Some(&hi), "{r}");
            assert_eq!(ports.len(), usize::from(hi - lo) + 1, "{r}");
        }
        // At most 2 * 16 prefixes for any range.
        assert!(PortRange::new(1, 65534).prefixes().len() <= 32);
    }

    #[test]
    fn prefix_bits_at_reports_the_covering_prefix() {
        let r = PortRange::new(80, 100);
        assert_eq!(r.prefix_bits_at(80), Some(12)); // 80-95
        assert_eq!(r.prefix_bits_at(100), Some(16));
        assert_eq!(r.prefix_bits_at(101), None);
        assert_eq!(PortRange::ALL.prefix_bits_at(7), Some(0));
    }

    #[test]
    fn end_below_start_means_single_port() {
        assert_eq!(PortRange::new(8080, 80), PortRange::single(8080));
    }
}
