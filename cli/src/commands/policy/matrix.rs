//! `observe policy matrix`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use enforcer::policy::ports::{IGMP, VRRP, is_portless, parse_protocol_name, protocol_name};

use crate::args::{Format, MatrixArgs};
use crate::manifests;

/// Prints the reachability matrix.
pub fn run(args: &MatrixArgs) -> Result<ExitCode> {
    let ports = args
        .ports
        .iter()
        .map(|p| parse_port(p))
        .collect::<Result<Vec<_>>>()?;
    let engine = manifests::engine(&args.manifests)?;
    let matrix = engine.matrix(&ports);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => write!(out, "{}", matrix.to_text())?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&matrix)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `PORT/PROTOCOL` (protocol defaults to TCP).
fn parse_port(s: &str) -> Result<(u8, u16)> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    let bad =
        || format!("invalid --ports entry {s:?}: expected PORT/PROTOCOL such as 80/TCP or 53/UDP");
    let port: u16 = port.trim().parse().with_context(bad)?;
    let proto = parse_protocol_name(proto.trim())
        .filter(|p| [6, 17, 132, 1, 58, VRRP, IGMP].contains(p))
        .with_context(bad)?;
    if is_portless(proto) && port != 0 {
        bail!(
            "invalid --ports entry {s:?}: {} has no ports, write 0/{}",
            protocol_name(proto),
            protocol_name(proto)
        );
    }
    Ok((proto, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse() {
        assert_eq!(parse_port("80/TCP").unwrap(), (6, 80));
        assert_eq!(parse_port("53/udp").unwrap(), (17, 53));
        assert_eq!(parse_port("443").unwrap(), (6, 443));
        assert!(parse_port("http/TCP").is_err());
        assert!(parse_port("80/GRE").is_err());
        assert_eq!(parse_port("0/VRRP").unwrap(), (112, 0));
        assert_eq!(parse_port("0/igmp").unwrap(), (2, 0));
        assert!(parse_port("80/VRRP").is_err());
    }
}
