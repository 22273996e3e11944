//! [`parse_endpoints`]: the `--kvstore` URL (`etcd://HOST:PORT[,HOST:PORT...]` for plaintext,
//! `etcds://...` for TLS) turned into the client's endpoint URLs.

use crate::error::Error;

/// Parses `etcd://HOST:PORT[,HOST:PORT...]` into `["http://HOST:PORT", ...]`, or
/// `etcds://...` into `https://` endpoints. HOST may be a name, an IPv4 address or a
/// bracketed IPv6 address; PORT is required.
///
/// # Errors
///
/// [`Error::InvalidUrl`] naming the value and what is wrong with it.
pub fn parse_endpoints(url: &str) -> Result<Vec<String>, Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        value: url.to_owned(),
        reason,
    };
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("etcd://") {
        ("http", rest)
    } else if let Some(rest) = url.strip_prefix("etcds://") {
        ("https", rest)
    } else {
        return Err(invalid("must start with etcd:// or etcds://".into()));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(invalid("no HOST:PORT given".into()));
    }
    rest.split(',')
        .map(|hp| check_host_port(hp).map(|()| format!("{scheme}://{hp}")))
        .collect::<Result<Vec<_>, String>>()
        .map_err(invalid)
}

/// Accepts `host:port` or `[v6]:port` with a port from 1 to 65535.
fn check_host_port(hp: &str) -> Result<(), String> {
    let (host, port) = hp
        .rsplit_once(':')
        .ok_or_else(|| format!("`{hp}` lacks :PORT"))?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(format!("`{port}` in `{hp}` is not a port (1-65535)")),
    }
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if host_ok {
        Ok(())
    } else {
        Err(format!("`{host}` in `{hp}` is not a host name or address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_and_tls_endpoints() {
        assert_eq!(
            parse_endpoints("etcd://10.0.0.1:2379,etcd-b:2379").unwrap(),
            ["http://10.0.0.1:2379", "http://etcd-b:2379"]
        );
        assert_eq!(
            parse_endpoints("etcds://[fd00::1]:2379/").unwrap(),
            ["https://[fd00::1]:2379"]
        );
    }

    #[test]
    fn errors_name_the_value() {
        for bad in [
            "http://a:1",
            "etcd://",
            "etcd://a",
            "etcd://a:0",
            "etcd://a:99999",
            "etcd://a:1,,b:2",
            "etcd://a b:1",
            "etcd://[zz]:1",
            "etcd://:2379",
        ] {
            let err = parse_endpoints(bad).expect_err(bad).to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}
