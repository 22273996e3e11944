//! `Layer4` read in place: pbjson's visitor for a message that is one oneof (`TCP`,
//! `UDP`, `ICMPv4`, `ICMPv6`, `SCTP`, `VRRP`, `IGMP`: one of them at most). The usual
//! protocols are read in place ([`super::messages`]); VRRP and IGMP by their pbjson impls.

use observe_proto::flow::layer4::Protocol;
use observe_proto::flow::{IcmPv4, IcmPv6, Igmp, Layer4, Sctp, Tcp, Udp, Vrrp};
use serde::Deserialize;

use crate::fast_json::fields::not_null;
use crate::fast_json::{Cursor, InPlace, Unsupported};

#[derive(Clone, Copy)]
enum Variant {
    Tcp,
    Udp,
    IcmPv4,
    IcmPv6,
    Sctp,
    Vrrp,
    Igmp,
}

impl InPlace for Layer4 {
    fn read_in_place(&mut self, cursor: &mut Cursor<'_>) -> Result<(), Unsupported> {
        let mut protocol = None;
        cursor.open(b'{')?;
        let mut first = true;
        while cursor.next_item(&mut first, b'}')? {
            let variant = match cursor.string()?.as_str() {
                "TCP" => Some(Variant::Tcp),
                "UDP" => Some(Variant::Udp),
                "ICMPv4" => Some(Variant::IcmPv4),
                "ICMPv6" => Some(Variant::IcmPv6),
                "SCTP" => Some(Variant::Sctp),
                "VRRP" => Some(Variant::Vrrp),
                "IGMP" => Some(Variant::Igmp),
                _ => None,
            };
            cursor.eat(b':')?;
            let Some(variant) = variant else {
                cursor.skip_value()?;
                continue;
            };
            if protocol.is_some() {
                return Err(Unsupported);
            }
            not_null(cursor)?;
            protocol = Some(read_variant(variant, cursor)?);
        }
        cursor.close(b'}')?;
        self.protocol = protocol;
        Ok(())
    }
}

fn read_variant(variant: Variant, cursor: &mut Cursor<'_>) -> Result<Protocol, Unsupported> {
    Ok(match variant {
        Variant::Tcp => Protocol::Tcp(in_place::<Tcp>(cursor)?),
        Variant::Udp => Protocol::Udp(in_place::<Udp>(cursor)?),
        Variant::IcmPv4 => Protocol::IcmPv4(in_place::<IcmPv4>(cursor)?),
        Variant::IcmPv6 => Protocol::IcmPv6(in_place::<IcmPv6>(cursor)?),
        Variant::Sctp => Protocol::Sctp(in_place::<Sctp>(cursor)?),
        Variant::Vrrp => Protocol::Vrrp(Vrrp::deserialize(&mut *cursor)?),
        Variant::Igmp => Protocol::Igmp(Igmp::deserialize(&mut *cursor)?),
    })
}

/// A small message (no heap) read into a new value.
fn in_place<T: InPlace + Default>(cursor: &mut Cursor<'_>) -> Result<T, Unsupported> {
    let mut value = T::default();
    value.read_in_place(cursor)?;
    Ok(value)
}
