//! `--input-file FILE|-`: flows from a JSON-lines file instead of the agent, each line
//! read by [`observe_cli::input_line`] (a library module, so that a fuzz target reaches
//! it) into one reused response. A line that is not JSON stops the replay with its line
//! number.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};

use anyhow::{Context, Result, anyhow};
use observe_cli::input_line::LineReader;
use observe_filter::{Compiled, FieldMask};
use observe_proto::observer::GetFlowsRequest;

use super::selection::Selection;
use crate::output::flows::FlowPrinter;

/// How much of the file is read at once.
const READ_BUFFER: usize = 256 * 1024;

/// Replays `path` (`-` for stdin) through `selection` into `printer`.
///
/// # Errors
///
/// The file cannot be read, a line is not a flow, or writing fails.
pub fn run<W: Write, E: Write>(
    path: &str,
    mut selection: Selection,
    mut printer: FlowPrinter<W, E>,
) -> Result<()> {
    let mut reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = File::open(path).with_context(|| format!("cannot open --input-file {path}"))?;
        Box::new(BufReader::with_capacity(READ_BUFFER, file))
    };
    // One line buffer and one response for the whole file: a line is read and printed
    // before the next one.
    let mut line = String::new();
    let mut lines = LineReader::new();
    for number in 1.. {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("cannot read {path}"))?;
        if read == 0 {
            break;
        }
        let parsed = lines
            .read(&line)
            .with_context(|| format!("{path}:{number}"))?;
        let Some(response) = parsed else {
            continue;
        };
        selection.offer(response, |out| printer.write(out))?;
        if selection.is_done() {
            break;
        }
    }
    for out in selection.finish() {
        printer.write(&out)?;
    }
    printer.finish()?;
    Ok(())
}

/// The request a replay honors: filters, selectors and the field mask, no server.
///
/// # Errors
///
/// A filter or a field mask path the agent would reject.
pub fn selection(request: &GetFlowsRequest, mask: &[String]) -> Result<Selection> {
    let filters = compile_filters(request)?;
    Ok(Selection::new(filters, request, compile_mask(mask)?))
}

/// The request's filters, compiled as the agent compiles them.
///
/// # Errors
///
/// The first invalid filter value, naming its field.
pub fn compile_filters(request: &GetFlowsRequest) -> Result<Compiled> {
    observe_filter::build(&request.whitelist, &request.blacklist)
        .map_err(|e| anyhow!("invalid filter: {e}"))
}

/// `--field-mask`, compiled as the agent compiles it (`None`: every field).
///
/// # Errors
///
/// The first path the agent would reject.
pub fn compile_mask(paths: &[String]) -> Result<Option<FieldMask>> {
    FieldMask::new(paths).map_err(|e| {
        anyhow!("invalid --field-mask: {e} (paths are proto field names, e.g. time, verdict, IP, l4.TCP, source.pod_name)")
    })
}
