//! `observe flows`: Hubble's `observe` flags and output formats, with policy names on
//! drops. Glue only: flags → filters and request → source (the agent, or a replayed
//! file) → printer.
//!
//! - [`options`]: selector and output flags; [`since`]: `--since`/`--until` values.
//! - [`request`]: the `GetFlowsRequest`; [`live`]: the agent's stream;
//!   [`replay`], [`choice`] and [`selection`]: `--input-file`. Filters and `--field-mask` are
//!   compiled by `observe_filter`, the agent's own code, so both sources accept and
//!   reject the same values.

pub mod choice;
pub mod live;
pub mod options;
pub mod replay;
pub mod request;
pub mod selection;
pub mod since;

use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::ArgMatches;
use observe_flags::{FilterArgs, Filters};

use crate::args::GlobalArgs;
use crate::connect;
use crate::output::flows::aggregate::GroupBy;
use crate::output::flows::{FlowPrinter, Format, Options, Renderer, raw_filters};
use options::{ColorWhen, OutputArgs, OutputFormat, SelectorArgs};

/// How much output is written at once (follow mode flushes after every response).
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Flags of `observe flows`.
#[derive(clap::Args, Debug)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub selectors: SelectorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Read flows from a JSON-lines file (`-o jsonpb` output of observe or hubble, or
    /// an exporter log; `-` for stdin) instead of the agent; filters and selectors apply.
    /// Example: --input-file flows.json
    #[arg(long, value_name = "FILE|-", help_heading = "Source")]
    pub input_file: Option<String>,
}

/// Runs `observe flows`; `matches` are the subcommand's (they give the flag order).
pub fn run(
    global: &GlobalArgs,
    args: &FlowsArgs,
    matches: Option<&ArgMatches>,
) -> Result<ExitCode> {
    let empty = ArgMatches::default();
    let filters = observe_flags::build(&args.filters, matches.unwrap_or(&empty))?;
    check(args)?;
    let stdout = std::io::stdout();
    if args.output.print_raw_filters {
        return print_raw_filters(&filters, &args.output, &mut stdout.lock());
    }
    let request = request::build(
        &filters,
        &args.selectors,
        &args.output.field_mask,
        args.input_file.is_some(),
    );
    let options = print_options(&args.output, stdout.is_terminal());
    let out = BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock());
    let printer = FlowPrinter::new(out, std::io::stderr(), options);
    match &args.input_file {
        Some(path) => {
            let (choice, selection) = replay::choice(&request, &args.output.field_mask)?;
            replay::run(path, choice, selection, &Renderer::new(options), printer)?;
        }
        None => {
            // Fail on a bad filter before dialing, with the same message a replay gives.
            replay::compile_filters(&request)?;
            connect::block_on(live::run(global, request, printer))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Combinations Hubble rejects too.
fn check(args: &FlowsArgs) -> Result<()> {
    if !args.output.aggregate_by.is_empty() && args.selectors.follow {
        bail!(
            "--aggregate-by counts what a request returns; it cannot follow (for live counts use `observe tui`)"
        );
    }
    if args.output.output == OutputFormat::Table && args.selectors.follow {
        bail!("table output cannot be combined with --follow (it aligns columns over all rows)");
    }
    if !args.output.field_mask.is_empty() {
        if !args.output.is_json() {
            bail!("--field-mask needs -o json or -o jsonpb (the other formats print fixed fields)");
        }
        // The agent's own mask: a path it would reject fails here, live or replayed.
        replay::compile_mask(&args.output.field_mask)?;
    }
    Ok(())
}

fn print_raw_filters(
    filters: &Filters,
    output: &OutputArgs,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let text = if output.is_json() {
        raw_filters::json(filters)
    } else {
        raw_filters::yaml(filters)
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Printer options; colors for compact and dict only, `auto` honoring `NO_COLOR`.
fn print_options(output: &OutputArgs, terminal: bool) -> Options {
    let format = match output.output {
        OutputFormat::Compact => Format::Compact,
        OutputFormat::Dict => Format::Dict,
        OutputFormat::Json | OutputFormat::Jsonpb => Format::Json,
        OutputFormat::Table => Format::Table,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let wanted = match output.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => terminal && !no_color && !dumb,
    };
    Options {
        format,
        time_format: output.time_format,
        color: wanted && matches!(format, Format::Compact | Format::Dict),
        numeric: output.numeric,
        node_name: output.print_node_name,
        policy_names: output.print_policy_names,
        aggregate: GroupBy::new(&output.aggregate_by),
    }
}
