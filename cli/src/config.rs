//! The config file: defaults for the global flags, so `--server` need not be typed each
//! time. Read from `--config FILE` (or `$OBSERVE_CONFIG`), else
//! `$XDG_CONFIG_HOME/observe/config.yaml`, else `~/.config/observe/config.yaml`; a missing
//! default file is fine, a missing file named by `--config` is an error.
//!
//! ```yaml
//! server: tls://node-1.example:4245           # or unix:///PATH, host:port
//! timeout: 2s                                 # or a number of seconds
//! request-timeout: 30s                        # or a number of seconds
//! tls: true                                   # TLS for a host:port server
//! tls-ca-cert-files: [/etc/observe/ca.pem]    # or one comma-separated string
//! tls-client-cert-file: /etc/observe/client.pem
//! tls-client-key-file: /etc/observe/client-key.pem
//! tls-server-name: node-1.observe.local
//! tls-allow-insecure: false
//! ```
//!
//! The keys are the long flags' names, as in Hubble's config file. Precedence: flag >
//! environment (`OBSERVE_SERVER`, `OBSERVE_TLS_CA_CERT_FILES`, ...) > config file > built-in
//! default. Argument parsing reads no file: `main` calls [`apply_file`] once the command
//! line is parsed, the one place the file is read and applied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use saphyr::{LoadableYamlNode, Scalar, Yaml};

use crate::args::{GlobalArgs, TlsArgs};
use observe_flags::duration::parse_timeout;

/// Values the config file sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `server`.
    pub server: Option<String>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `request-timeout`.
    pub request_timeout: Option<Duration>,
    /// `tls`.
    pub tls: Option<bool>,
    /// `tls-ca-cert-files`.
    pub tls_ca_cert_files: Option<Vec<PathBuf>>,
    /// `tls-client-cert-file` and `tls-client-key-file` (both or neither).
    pub tls_client: Option<(PathBuf, PathBuf)>,
    /// `tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `tls-allow-insecure`.
    pub tls_allow_insecure: Option<bool>,
}

/// The keys a config file may set.
const KEYS: &str = "server, timeout, request-timeout, tls, tls-ca-cert-files, tls-client-cert-file, tls-client-key-file, tls-server-name, tls-allow-insecure";

/// Reads the config file named by `--config` (or the default one) and fills the global
/// flags the user left unset from it.
///
/// # Errors
///
/// As [`load`].
pub fn apply_file(global: &mut GlobalArgs, matches: &ArgMatches) -> Result<()> {
    let named = global
        .config
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty());
    let config = load(named)?;
    apply(global, matches, &config);
    Ok(())
}

/// Where the default config file is.
fn default_location() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("observe").join("config.yaml"))
}

/// Reads the config file `named` (`--config`), else the default one if there is one.
///
/// # Errors
///
/// The named file is missing, or a file is unreadable or invalid.
pub fn load(named: Option<&Path>) -> Result<Config> {
    let explicit = named.is_some();
    let Some(path) = named.map(Path::to_path_buf).or_else(default_location) else {
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
/// Invalid YAML, an unknown key, a bad value, or a client certificate without its key.
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
        bail!("expected a mapping with the keys {KEYS}");
    };
    let (mut cert, mut key) = (None, None);
    for (k, value) in map {
        let name = k.as_str().unwrap_or("?");
        match name {
            "server" => config.server = Some(text_value(name, value)?),
            "timeout" => config.timeout = Some(timeout_value(name, value)?),
            "request-timeout" => config.request_timeout = Some(timeout_value(name, value)?),
            "tls" => config.tls = Some(bool_value(name, value)?),
            "tls-allow-insecure" => config.tls_allow_insecure = Some(bool_value(name, value)?),
            "tls-ca-cert-files" => config.tls_ca_cert_files = Some(paths_value(name, value)?),
            "tls-client-cert-file" => cert = Some(PathBuf::from(text_value(name, value)?)),
            "tls-client-key-file" => key = Some(PathBuf::from(text_value(name, value)?)),
            "tls-server-name" => config.tls_server_name = Some(text_value(name, value)?),
            _ => bail!("unknown key {name:?}: expected one of {KEYS}"),
        }
    }
    config.tls_client = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => bail!("tls-client-cert-file: needs tls-client-key-file too"),
        (None, Some(_)) => bail!("tls-client-key-file: needs tls-client-cert-file too"),
    };
    Ok(config)
}

fn bool_value(key: &str, value: &Yaml<'_>) -> Result<bool> {
    match value {
        Yaml::Value(Scalar::Boolean(b)) => Ok(*b),
        _ => bail!("{key}: expected true or false"),
    }
}

/// A list of paths, or one comma-separated string (as the environment variable takes).
fn paths_value(key: &str, value: &Yaml<'_>) -> Result<Vec<PathBuf>> {
    let items: Vec<String> = match value.as_sequence() {
        Some(seq) => seq
            .iter()
            .map(|v| text_value(key, v))
            .collect::<Result<_>>()?,
        None => text_value(key, value)?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    };
    if items.iter().any(String::is_empty) {
        bail!("{key}: expected file paths, got an empty one");
    }
    Ok(items.into_iter().map(PathBuf::from).collect())
}

fn text_value(key: &str, value: &Yaml<'_>) -> Result<String> {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{key}: expected a non-empty string"))
}

fn timeout_value(key: &str, value: &Yaml<'_>) -> Result<Duration> {
    if let Yaml::Value(Scalar::Integer(secs)) = value {
        let secs = u64::try_from(*secs).map_err(|_| anyhow!("{key}: must not be negative"))?;
        return Ok(Duration::from_secs(secs));
    }
    let text = value
        .as_str()
        .ok_or_else(|| anyhow!("{key}: expected a duration such as 5s or 500ms"))?;
    parse_timeout(text).map_err(|e| anyhow!("{key}: {e}"))
}

/// Fills the global flags the user left at their built-in defaults from `config`.
pub fn apply(global: &mut GlobalArgs, matches: &ArgMatches, config: &Config) {
    let defaulted = |id: &str| {
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
    if let Some(timeout) = config
        .request_timeout
        .filter(|_| defaulted("request_timeout"))
    {
        global.request_timeout = timeout;
    }
    apply_tls(&mut global.tls, &defaulted, config);
}

fn apply_tls(tls: &mut TlsArgs, defaulted: &impl Fn(&str) -> bool, config: &Config) {
    if let Some(on) = config.tls.filter(|_| defaulted("tls")) {
        tls.tls = on;
    }
    if let Some(on) = config
        .tls_allow_insecure
        .filter(|_| defaulted("tls_allow_insecure"))
    {
        tls.tls_allow_insecure = on;
    }
    if let Some(files) = config
        .tls_ca_cert_files
        .as_ref()
        .filter(|_| defaulted("tls_ca_cert_files"))
    {
        tls.tls_ca_cert_files.clone_from(files);
    }
    let flags_name_a_client = !defaulted("tls_client_cert_file");
    if let Some((cert, key)) = config.tls_client.as_ref().filter(|_| !flags_name_a_client) {
        tls.tls_client_cert_file = Some(cert.clone());
        tls.tls_client_key_file = Some(key.clone());
    }
    if let Some(name) = config
        .tls_server_name
        .as_ref()
        .filter(|_| defaulted("tls_server_name"))
    {
        tls.tls_server_name = Some(name.clone());
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
    fn request_timeout_key_like_hubbles() {
        let c = parse("request-timeout: 30s\n").unwrap();
        assert_eq!(c.request_timeout, Some(Duration::from_secs(30)));
        assert_eq!(
            parse("request-timeout: 7").unwrap().request_timeout,
            Some(Duration::from_secs(7))
        );
        let err = parse("request-timeout: soon").unwrap_err().to_string();
        assert!(err.starts_with("request-timeout: "), "{err}");
    }

    #[test]
    fn tls_keys_like_hubbles() {
        let c = parse(
            "tls: true\ntls-ca-cert-files: [/a.pem, /b.pem]\ntls-client-cert-file: /c.pem\n\
             tls-client-key-file: /k.pem\ntls-server-name: node-1\ntls-allow-insecure: false\n",
        )
        .unwrap();
        assert_eq!(c.tls, Some(true));
        assert_eq!(
            c.tls_ca_cert_files,
            Some(vec![PathBuf::from("/a.pem"), PathBuf::from("/b.pem")])
        );
        assert_eq!(
            c.tls_client,
            Some((PathBuf::from("/c.pem"), PathBuf::from("/k.pem")))
        );
        assert_eq!(c.tls_server_name.as_deref(), Some("node-1"));
        assert_eq!(c.tls_allow_insecure, Some(false));
        let comma = parse("tls-ca-cert-files: /a.pem,/b.pem").unwrap();
        assert_eq!(comma.tls_ca_cert_files.map(|v| v.len()), Some(2));
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
        assert!(
            parse("tls: yes please")
                .unwrap_err()
                .to_string()
                .contains("tls: expected true or false")
        );
        let err = parse("tls-client-cert-file: /c.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs tls-client-key-file"), "{err}");
        assert!(parse("server: [").is_err());
    }
}
