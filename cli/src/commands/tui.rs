//! `observe tui`: the interactive dashboard (the `observe-tui` library) on a channel to
//! `--server`.

use std::process::ExitCode;

use anyhow::Result;

use crate::args::GlobalArgs;
use crate::connect;

/// Flags of `observe tui`.
#[derive(clap::Args, Debug)]
pub struct TuiArgs {
    /// Initial filter, in the syntax of `observe flows` flags (change it with `/`).
    /// Example: --filter "--verdict DROPPED --to-namespace shop"
    #[arg(
        long,
        value_name = "FLAGS",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub filter: String,
    /// Flows kept for the table; the oldest are evicted. Example: --buffer 50000
    #[arg(long, value_name = "FLOWS", default_value_t = 10_000)]
    pub buffer: usize,
    /// Flows of history to load when the stream starts or the filter changes (0: only
    /// new flows). Example: --history 0
    #[arg(long, value_name = "FLOWS", default_value_t = 1_000)]
    pub history: u64,
    /// Most frames drawn per second. Example: --fps 10
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
}

/// Runs `observe tui`.
pub fn run(global: &GlobalArgs, args: &TuiArgs) -> Result<ExitCode> {
    // A typo in the filter is reported before anything is dialled or drawn.
    let filter = observe_tui::filter::parse(&args.filter)
        .map_err(|e| anyhow::anyhow!("invalid --filter: {e}"))?;
    let options = observe_tui::TuiOptions {
        server: global.server.clone(),
        filter,
        buffer: args.buffer,
        history: args.history,
        fps: args.fps,
    };
    connect::block_on(async {
        let channel = connect::channel(global).await?;
        observe_tui::run(channel, options).await
    })?;
    Ok(ExitCode::SUCCESS)
}
