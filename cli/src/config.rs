//! The config file: defaults for the global flags, so `--server` need not be typed each
//! time. Read from `$OBSERVE_CONFIG`, else `$XDG_CONFIG_HOME/observe/config.yaml`, else
//! `~/.config/observe/config.yaml`; a missing default file is fine, a missing
//! `$OBSERVE_CONFIG` file is an error.
//!
//! ```yaml
//! server: unix:///run/observe/observer.sock   # or host:port
//! timeout: 2s                                 # or a number of seconds
//! ```
//!
//! Precedence: flag > environment (`OBSERVE_SERVER`, `OBSERVE_TIMEOUT`) > config file >
//! built-in default.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use saphyr::{LoadableYamlNode, Scalar, Yaml};

use crate::args::{GlobalArgs, parse_duration};

/// Values the config file sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `server`.
    pub server: Option<String>,
    /// `timeout`.
    pub timeout: Option<Duration>,
}

/// Where the config file is, and whether the user named it explicitly.
fn location() -> Option<(PathBuf, bool)> {
    if let Some(path) = std::env::var_os("OBSERVE_CONFIG").filter(|p| !p.is_empty()) {
        return Some((path.into(), true));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some((base.join("observe").join("config.yaml"), false))
}

/// Reads the config file, if there is one.
///
/// # Errors
///
/// The file named by `$OBSERVE_CONFIG` is missing, or a file is unreadable or invalid.
pub fn load() -> Result<Config> {
    let Some((path, explicit)) = location() else {
        return Ok(Config::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(Config::default());
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read config file {}", path.display()));
        }
    };
    parse(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parses config text.
///
/// # Errors
///
/// Invalid YAML, a key other than `server` and `timeout`, or a bad value.
pub fn parse(text: &str) -> Result<Config> {
    let docs = Yaml::load_from_str(text).map_err(|e| anyhow!("invalid YAML: {e}"))?;
    let mut config = Config::default();
    let Some(doc) = docs.first() else {
        return Ok(config);
    };
    if doc.is_null() {
        return Ok(config);
    }
    let Some(map) = doc.as_mapping() else {
        bail!("expected a mapping with the keys server and timeout");
    };
    for (key, value) in map {
        match key.as_str() {
            Some("server") => config.server = Some(text_value("server", value)?),
            Some("timeout") => config.timeout = Some(timeout_value(value)?),
            _ => bail!(
                "unknown key {:?}: expected server or timeout",
                key.as_str().unwrap_or("?")
            ),
        }
    }
    Ok(config)
}

fn text_value(key: &str, value: &Yaml<'_>) -> Result<String> {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{key}: expected a non-empty string"))
}

fn timeout_value(value: &Yaml<'_>) -> Result<Duration> {
    if let Yaml::Value(Scalar::Integer(secs)) = value {
        let secs = u64::try_from(*secs).map_err(|_| anyhow!("timeout: must not be negative"))?;
        return Ok(Duration::from_secs(secs));
    }
    let text = value
        .as_str()
        .ok_or_else(|| anyhow!("timeout: expected a duration such as 5s or 500ms"))?;
    parse_duration(text).map_err(|e| anyhow!("timeout: {e}"))
}

/// Fills the global flags the user left at their built-in defaults from `config`.
pub fn apply(global: &mut GlobalArgs, matches: &ArgMatches, config: &Config) {
    let defaulted = |id| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::DefaultValue) | None
        )
    };
    if let Some(server) = config.server.as_ref().filter(|_| defaulted("server")) {
        global.server.clone_from(server);
    }
    if let Some(timeout) = config.timeout.filter(|_| defaulted("timeout")) {
        global.timeout = timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        let c = parse("server: unix:///tmp/x.sock\ntimeout: 2s\n").unwrap();
        assert_eq!(c.server.as_deref(), Some("unix:///tmp/x.sock"));
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
        assert_eq!(
            parse("timeout: 7").unwrap().timeout,
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("# nothing\n").unwrap(), Config::default());
    }

    #[test]
    fn mistakes_are_named() {
        let err = parse("sever: x").unwrap_err().to_string();
        assert!(
            err.contains("unknown key") && err.contains("sever"),
            "{err}"
        );
        assert!(
            parse("timeout: soon")
                .unwrap_err()
                .to_string()
                .contains("timeout")
        );
        assert!(parse("- a\n- b").is_err());
        assert!(parse("server: [").is_err());
    }
}
