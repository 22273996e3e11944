//! [`Cidr`]: an IPv4 or IPv6 prefix with containment tests and canonical formatting, a thin
//! newtype over [`ipnet::IpNet`] that keeps host bits zero and parses with Cilium's
//! strictness and this crate's error messages.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// An IP prefix such as `10.0.0.0/8` or `2001:db8::/32`. Host bits are always zero.
///
/// Ordered by family (IPv4 first), then network address, then prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(IpNet);

/// Why a string is not a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The address part does not parse.
    #[error("`{0}` is not an IPv4 or IPv6 address")]
    Address(String),
    /// The prefix length does not parse or is too long for the family.
    #[error("prefix length `{len}` is not valid for {family} (0-{max})")]
    Length {
        /// The prefix length as written.
        len: String,
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// The longest prefix of the family.
        max: u8,
    },
    /// Bits are set after the prefix (e.g. `10.0.0.1/8`).
    #[error("`{0}` has host bits set; did you mean `{1}`?")]
    HostBits(String, Cidr),
}

impl Cidr {
    /// The prefix of `len` bits containing `addr`, host bits cleared. `len` is clamped to
    /// the family's maximum.
    pub fn new(addr: IpAddr, len: u8) -> Self {
        // `IpNet::new` refuses only a length beyond the family's maximum: that clamps to
        // the host prefix.
        let net = IpNet::new(addr, len).unwrap_or_else(|_| IpNet::from(addr));
        Self(net.trunc())
    }

    /// The single-address prefix (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        Self(IpNet::from(addr))
    }

    /// The prefix covering every address of `addr`'s family.
    pub fn all_of_family(v6: bool) -> Self {
        if v6 {
            Self::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0)
        } else {
            Self::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0)
        }
    }

    /// Parses `a.b.c.d/n`, an IPv6 prefix, or a bare address (a host prefix), rejecting
    /// host bits like Cilium does for `fromCIDR`.
    pub fn parse_strict(s: &str) -> Result<Self, CidrError> {
        let cidr = Self::parse_lenient(s)?;
        let (addr, _) = split(s);
        let written: IpAddr = addr.parse().map_err(|_| CidrError::Address(addr.into()))?;
        if written != cidr.addr() {
            return Err(CidrError::HostBits(s.into(), cidr));
        }
        Ok(cidr)
    }

    /// Parses like [`Cidr::parse_strict`] but clears host bits silently.
    pub fn parse_lenient(s: &str) -> Result<Self, CidrError> {
        let (addr, len) = split(s);
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::Address(addr.into()))?;
        let max = max_len(&addr);
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.starts_with('+') => n,
                _ => {
                    return Err(CidrError::Length {
                        len: l.into(),
                        family: family_name(&addr),
                        max,
                    });
                }
            },
        };
        Ok(Self::new(addr, len))
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.0.network()
    }

    /// The prefix length in bits.
    #[expect(
        clippy::len_without_is_empty,
        reason = "a prefix length, not a collection size"
    )]
    pub fn len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether this is an IPv6 prefix.
    pub fn is_v6(&self) -> bool {
        matches!(self.0, IpNet::V6(_))
    }

    /// Whether `addr` lies inside this prefix (never across families).
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }

    /// Whether `other` lies entirely inside this prefix (a prefix contains itself; never
    /// across families).
    pub fn contains(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len())
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_strict(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_strict(s)
    }
}

fn split(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    }
}

fn max_len(addr: &IpAddr) -> u8 {
    if addr.is_ipv6() { 128 } else { 32 }
}

fn family_name(addr: &IpAddr) -> &'static str {
    if addr.is_ipv6() { "IPv6" } else { "IPv4" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_prefixes_and_bare_addresses() {
        assert_eq!(c("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(c("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(c("::1").len(), 128);
    }

    #[test]
    fn strict_parsing_rejects_host_bits_and_bad_lengths() {
        assert!(matches!(
            Cidr::parse_strict("10.0.0.1/8"),
            Err(CidrError::HostBits(..))
        ));
        assert!(matches!(
            Cidr::parse_strict("10.0.0.0/33"),
            Err(CidrError::Length { .. })
        ));
        assert!(matches!(
            Cidr::parse_strict("10.0.0.0/+8"),
            Err(CidrError::Length { .. })
        ));
        assert!(matches!(
            Cidr::parse_strict("10.0.0/8"),
            Err(CidrError::Address(_))
        ));
        assert_eq!(Cidr::parse_lenient("10.0.0.1/8").unwrap(), c("10.0.0.0/8"));
    }

    #[test]
    fn serializes_as_its_text() {
        let json = serde_json::to_string(&c("10.0.0.0/8")).unwrap();
        assert_eq!(json, "\"10.0.0.0/8\"");
        assert_eq!(
            serde_json::from_str::<Cidr>(&json).unwrap(),
            c("10.0.0.0/8")
        );
        assert!(serde_json::from_str::<Cidr>("\"10.0.0.1/8\"").is_err());
    }

    #[test]
    fn new_clears_host_bits_and_clamps_the_length() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(Cidr::new(v4, 8), c("10.0.0.0/8"));
        assert_eq!(Cidr::new(v4, 40), c("10.1.2.3/32"));
        assert_eq!(Cidr::new(v4, 0), Cidr::all_of_family(false));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(Cidr::new(v6, 200), Cidr::host(v6));
        assert_eq!(Cidr::new(v6, 32).to_string(), "2001:db8::/32");
        assert_eq!(Cidr::all_of_family(true).to_string(), "::/0");
    }

    #[test]
    fn ordering_is_family_then_address_then_length() {
        let mut got = [
            c("::/0"),
            c("10.0.0.0/16"),
            c("10.0.0.0/8"),
            c("9.0.0.0/8"),
            c("0.0.0.0/0"),
        ];
        got.sort();
        let want = [
            "0.0.0.0/0",
            "9.0.0.0/8",
            "10.0.0.0/8",
            "10.0.0.0/16",
            "::/0",
        ];
        assert_eq!(got.iter().map(Cidr::to_string).collect::<Vec<_>>(), want);
    }

    #[test]
    fn containment_respects_family_and_length() {
        assert!(c("10.0.0.0/8").contains(&c("10.1.0.0/16")));
        assert!(c("10.0.0.0/8").contains(&c("10.0.0.0/8")));
        assert!(!c("10.1.0.0/16").contains(&c("10.0.0.0/8")));
        assert!(!c("0.0.0.0/0").contains(&c("::/0")));
        assert!(c("0.0.0.0/0").contains_addr("203.0.113.9".parse().unwrap()));
        assert!(!c("10.0.0.0/8").contains_addr("2001:db8::1".parse().unwrap()));
    }
}
