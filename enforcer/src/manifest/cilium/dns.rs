//! DNS name selectors (`matchName` / `matchPattern`), as `toFQDNs` entries and `rules.dns`
//! write them.

use crate::fqdn::NamePattern;
use crate::manifest::cursor::Cursor;

/// Which kind of DNS selector an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsSelector {
    /// `matchName`: one exact name.
    Name,
    /// `matchPattern`: `*` wildcards allowed.
    Pattern,
}

impl DnsSelector {
    /// The manifest field.
    pub fn field(self) -> &'static str {
        match self {
            Self::Name => "matchName",
            Self::Pattern => "matchPattern",
        }
    }
}

/// Reads one `{matchName | matchPattern}` entry; `what` names the list in errors.
pub fn read_dns_selector(item: &Cursor<'_>, what: &str) -> Option<(DnsSelector, String)> {
    let m = item.map()?;
    let name = m.get("matchName");
    let pattern = m.get("matchPattern");
    m.finish();
    let (kind, value) = match (name, pattern) {
        (Some(n), None) => (DnsSelector::Name, n),
        (None, Some(p)) => (DnsSelector::Pattern, p),
        _ => {
            item.error(format!(
                "{what} needs exactly one of matchName or matchPattern"
            ));
            return None;
        }
    };
    let text = value.string()?;
    // The engine and the DNS proxy compile it the same way; a selector that does not
    // compile is an error here, with the reason.
    let compiled = match kind {
        DnsSelector::Name => NamePattern::name(text),
        DnsSelector::Pattern => NamePattern::pattern(text),
    };
    if let Err(e) = compiled {
        let quoted = crate::manifest::diag::quote(text);
        value.error(format!("invalid {} {quoted}: {e}", kind.field()));
        return None;
    }
    Some((kind, text.to_string()))
}
