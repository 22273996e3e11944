//! [`FlagsError`]: why filter flags could not become filters. Every message is one line
//! that names the flag and the value, so the CLI can print it as is and the TUI can show
//! it in its status bar.

/// Why filter flags could not be turned into filters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlagsError {
    /// The arguments do not parse: unknown flag, missing or invalid value (the message is
    /// clap's, reduced to one line).
    #[error("{0}")]
    Parse(String),
    /// A filter line has an unterminated quote.
    #[error("cannot split the filter line: unterminated quote")]
    Quotes,
    /// `--not` is the last filter flag: it has nothing to negate.
    #[error(
        "trailing --not: it must be followed by the filter it negates, e.g. --not --verdict FORWARDED"
    )]
    TrailingNot,
    /// `--not --not`: each `--not` negates exactly the one filter that follows it.
    #[error("consecutive --not: each --not negates the single filter flag that follows it")]
    ConsecutiveNot,
    /// Two flags that select the same thing in incompatible ways, as in Hubble
    /// (`--port` with `--to-port`, `--ip` with `--from-pod`, ...).
    #[error("filters --{first} and --{second} cannot be combined")]
    Conflict {
        /// The flag seen first in the conflict group.
        first: &'static str,
        /// The other flag.
        second: &'static str,
    },
    /// A namespace flag and a pod or service in another namespace.
    #[error("namespace conflict: {namespace:?} does not contain {name:?}")]
    NamespaceConflict {
        /// The namespace given with `-n`, `--from-namespace` or `--to-namespace`.
        namespace: String,
        /// The pod or service naming another namespace.
        name: String,
    },
    /// A pod and a service on the same side name different namespaces.
    #[error("namespace of service {service:?} conflicts with pod {pod:?}")]
    ServiceNamespace {
        /// The service value.
        service: String,
        /// The pod value.
        pod: String,
    },
    /// An `--allowlist` or `--denylist` value is not a JSON `FlowFilter`.
    #[error("invalid --{flag} value {value:?}: {reason}")]
    RawFilter {
        /// `allowlist` or `denylist`.
        flag: &'static str,
        /// The JSON text.
        value: String,
        /// What the JSON parser said.
        reason: String,
    },
}

impl FlagsError {
    /// A clap error as one line: its first line without the `error: ` prefix, with any
    /// `tip:` lines appended in parentheses.
    pub(crate) fn from_clap(err: &clap::Error) -> Self {
        Self::Parse(one_line(&err.to_string()))
    }
}

/// Reduces clap's multi-line error text to one line: the first line, plus the lists of
/// possible values and the tips clap puts on lines of their own.
pub fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut out = first.strip_prefix("error: ").unwrap_or(first).to_string();
    for line in lines {
        if let Some(tip) = line.strip_prefix("tip: ") {
            out.push_str(&format!(" ({tip})"));
        } else if line.starts_with("[possible values: ") {
            out.push(' ');
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line_with_their_tips() {
        let text = "error: unexpected argument '--verdcit' found\n\n  tip: a similar argument exists: '--verdict'\n\nUsage: filter [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "unexpected argument '--verdcit' found (a similar argument exists: '--verdict')"
        );
        assert_eq!(one_line(""), "invalid arguments");
        assert_eq!(
            one_line(
                "error: invalid value 'yaml' for '--output <OUTPUT>'\n  [possible values: compact, dict]\n\nFor more information, try '--help'.\n"
            ),
            "invalid value 'yaml' for '--output <OUTPUT>' [possible values: compact, dict]"
        );
    }
}
