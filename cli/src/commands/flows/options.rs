//! The non-filter flags of `observe flows`: selectors (which part of the history) and
//! output (format, time format, colors, names). Parsing and validation only.

use clap::{Args, ValueEnum};
use observe_proto::Timestamp;

use super::since;
use crate::output::flows::time::TimeFormat;

/// Which flows of the history, and whether to keep streaming.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Selectors")]
pub struct SelectorArgs {
    /// The last N matching flows (default: 20 when none of --first, --all, --follow,
    /// --since, --until is given). Example: --last 100
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub last: Option<u64>,
    /// The first N matching flows of the history. Example: --first 10
    #[arg(long, value_name = "N", conflicts_with_all = ["last", "all", "follow"])]
    pub first: Option<u64>,
    /// Every matching flow in the history.
    #[arg(long)]
    pub all: bool,
    /// Keep printing new flows as they arrive (Ctrl-C to stop).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Flows at or after this time: a duration ago (3s, 4m, 1h43m) or a time
    /// (2024-03-14T16:53:01Z, 2024-03-14, 'Thu, 14 Mar 2024 16:53:01 +0000').
    /// Example: --since 5m
    #[arg(long, value_name = "TIME", value_parser = since::parse)]
    pub since: Option<Timestamp>,
    /// Flows at or before this time (same forms as --since; ignored with --follow).
    /// Example: --until 2024-03-14T17:00:00Z
    #[arg(long, value_name = "TIME", value_parser = since::parse)]
    pub until: Option<Timestamp>,
}

/// Output formats of `observe flows`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One line per flow, like `hubble observe`.
    Compact,
    /// KEY: value blocks.
    Dict,
    /// One GetFlowsResponse per line in proto3 JSON (same as jsonpb).
    Json,
    /// One GetFlowsResponse per line in proto3 JSON, as `hubble observe -o jsonpb`.
    Jsonpb,
    /// Aligned columns (not with --follow).
    #[value(alias = "tab")]
    Table,
}

/// When to color.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How flows are printed.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format. Example: -o jsonpb
    #[arg(short = 'o', long = "output", value_enum, default_value = "compact")]
    pub output: OutputFormat,
    /// Timestamp format (UTC): StampMilli, YearMonthDay, YearMonthDayHour,
    /// YearMonthDayHourMinute, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano,
    /// RFC1123Z. Example: --time-format RFC3339Milli
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value = "StampMilli",
        hide_possible_values = true
    )]
    pub time_format: TimeFormat,
    /// Colors in compact and dict output (NO_COLOR turns auto off). Example: --color always
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorWhen,
    /// Addresses instead of pod, service and DNS names.
    #[arg(long)]
    pub numeric: bool,
    /// Print the node that observed each flow.
    #[arg(long)]
    pub print_node_name: bool,
    /// Name the allowing policies on policy-verdict lines (`ALLOWED BY name (Kind)`).
    /// Drop lines always name the denying policy.
    #[arg(long)]
    pub print_policy_names: bool,
    /// Only these flow fields (json and jsonpb output), comma-separated proto paths.
    /// Example: --field-mask time,verdict,source.pod_name,destination.pod_name
    #[arg(long, value_name = "PATHS", value_delimiter = ',')]
    pub field_mask: Vec<String>,
    /// Print the filters the flags make (YAML; JSON with -o json) and exit.
    #[arg(long)]
    pub print_raw_filters: bool,
    /// Count flows per group instead of printing each, with first and last seen, most
    /// frequent first (a table; JSON lines with -o json). Keys: source, destination, port,
    /// verdict, reason, policy, node, direction. Example: --aggregate-by source,destination,port,verdict
    #[arg(long, value_name = "KEYS", value_delimiter = ',', value_enum)]
    pub aggregate_by: Vec<crate::output::flows::aggregate::GroupKey>,
}

impl OutputArgs {
    /// Whether the format is one of the JSON ones.
    pub fn is_json(&self) -> bool {
        matches!(self.output, OutputFormat::Json | OutputFormat::Jsonpb)
    }
}
