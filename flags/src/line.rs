//! Filter lines: the TUI's filter box takes the same flags as `observe flows`, typed as
//! one string (`--verdict DROPPED --to-pod shop/ --not --port 53`). The line is split
//! like a shell would split it (quotes and backslashes work) and parsed by the same clap
//! definition, so both accept exactly the same flags and report the same errors.

use clap::{ArgMatches, Args, ColorChoice, Command, FromArgMatches};

use crate::args::FilterArgs;
use crate::error::FlagsError;
use crate::filters::{Filters, build};

/// Parses a filter line into filters.
///
/// ```
/// let filters = observe_flags::parse_filter_line("--verdict DROPPED --not --port 53").unwrap();
/// assert_eq!(filters.whitelist.len(), 1);
/// assert_eq!(filters.blacklist.len(), 2); // source port 53, or destination port 53
/// ```
///
/// # Errors
///
/// [`FlagsError::Quotes`] for an unterminated quote, [`FlagsError::Parse`] for unknown
/// flags, missing or invalid values and stray words, and every error of [`build`].
pub fn parse_filter_line(line: &str) -> Result<Filters, FlagsError> {
    let words = shlex::split(line).ok_or(FlagsError::Quotes)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (args, matches) = parse_args(&words)?;
    build(&args, &matches)
}

/// The filter flags alone as a command, for parsing words that are nothing but filters.
fn command() -> Command {
    FilterArgs::augment_args(
        Command::new("filter")
            .no_binary_name(true)
            .disable_help_flag(true)
            .disable_version_flag(true)
            .color(ColorChoice::Never),
    )
}

/// Parses `words` (no program name) as filter flags.
pub(crate) fn parse_args(words: &[&str]) -> Result<(FilterArgs, ArgMatches), FlagsError> {
    let matches = command()
        .try_get_matches_from(words)
        .map_err(|e| FlagsError::from_clap(&e))?;
    let args = FilterArgs::from_arg_matches(&matches).map_err(|e| FlagsError::from_clap(&e))?;
    Ok((args, matches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_parses_like_the_command_line() {
        let filters = parse_filter_line("--verdict DROPPED --pod 'shop/db-0' -n shop").unwrap();
        assert_eq!(filters.whitelist.len(), 2);
        assert!(filters.blacklist.is_empty());
        assert_eq!(parse_filter_line("").unwrap(), Filters::default());
        assert_eq!(parse_filter_line("   ").unwrap(), Filters::default());
    }

    #[test]
    fn errors_are_one_line() {
        let err = parse_filter_line("--verdict NOPE").unwrap_err().to_string();
        assert!(err.contains("--verdict"), "{err}");
        assert!(err.contains("FORWARDED, DROPPED"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = parse_filter_line("--verdcit DROPPED")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--verdict"),
            "a tip names the right flag: {err}"
        );
        assert!(!err.contains('\n'), "{err}");
        assert_eq!(parse_filter_line("--pod 'shop/x"), Err(FlagsError::Quotes));
        assert!(parse_filter_line("stray").is_err());
        assert!(parse_filter_line("--help").is_err());
    }
}
