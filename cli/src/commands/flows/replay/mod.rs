//! `--input-file FILE|-`: flows from a JSON-lines file instead of the agent, each line
//! read by [`observe_cli::input_line`] (a library module, so that a fuzz target reaches
//! it). A line that is not JSON stops the replay with its line number; a line that is not
//! UTF-8, or a read error, with the file's name.
//!
//! Lines are read, chosen and rendered on reader threads ([`pipeline`]: the input in
//! chunks of whole lines, [`source`]; each chunk's lines, [`batch`]), and counted, held
//! back and written here, in file order, so that what is printed, and where a replay
//! stops, is what reading line after line gives.

mod batch;
mod pipeline;
mod source;

use std::fs::File;
use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use observe_cli::input_line::LineReader;
use observe_filter::{Compiled, FieldMask};
use observe_proto::observer::GetFlowsRequest;

use super::choice::Choice;
use super::selection::Selection;
use crate::output::flows::{FlowPrinter, Renderer};
use batch::{Line, Reading};
use pipeline::Pipeline;

/// Replays `path` (`-` for stdin) through `choice` and `selection` into `printer`
/// (rendering as `renderer` does, with the printer's options).
///
/// # Errors
///
/// The file cannot be read, a line is not a flow, or writing fails.
pub fn run<W: Write, E: Write>(
    path: &str,
    choice: Choice,
    mut selection: Selection,
    renderer: &Renderer,
    mut printer: FlowPrinter<W, E>,
) -> Result<()> {
    let input: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        let file = File::open(path).with_context(|| format!("cannot open --input-file {path}"))?;
        Box::new(file)
    };
    let choice = Arc::new(choice);
    let mut pipeline = Pipeline::start(input, || Reading {
        lines: LineReader::new(),
        choice: choice.clone(),
        renderer: renderer.clone(),
    });
    let mut number: u64 = 0;
    'batches: while let Some(mut batch) = pipeline.next_batch()? {
        for line in batch.lines.drain(..) {
            number += 1;
            let (flow, printed) = match line {
                Line::Chosen { flow, printed } => (flow, printed),
                Line::Skipped => continue,
                Line::Invalid(e) => return Err(e.context(format!("{path}:{number}"))),
            };
            selection.offer(flow, printed, &batch.text, |printed, text| {
                printer.emit(printed?, text)
            })?;
            if selection.is_done() {
                break 'batches;
            }
        }
        if let Some(error) = batch.error.take() {
            return Err(anyhow::Error::new(error).context(format!("cannot read {path}")));
        }
        pipeline.recycle(batch);
    }
    for (printed, text) in selection.finish() {
        printer.emit(printed?, &text)?;
    }
    printer.finish()?;
    Ok(())
}

/// The request a replay honors: its bounds, filters and field mask, and its selectors.
///
/// # Errors
///
/// A filter or a field mask path the agent would reject.
pub fn choice(request: &GetFlowsRequest, mask: &[String]) -> Result<(Choice, Selection)> {
    let filters = compile_filters(request)?;
    let choice = Choice::new(filters, request, compile_mask(mask)?);
    Ok((choice, Selection::new(request)))
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
