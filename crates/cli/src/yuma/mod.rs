//! `tao yuma`: understand what Yuma Consensus pays.

mod render;
mod scenario;
mod simulate;

use crate::exit::Failure;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `tao yuma` subcommands.
#[derive(Debug, Subcommand)]
pub enum YumaCommand {
    /// Run a scenario of validators and miners through Yuma Consensus epoch by epoch.
    ///
    /// Validators are UIDs 0..V-1 with the stake given (TAO), miners UIDs V..V+M-1. Each
    /// epoch's weights are one row of raw scores per validator over the miners; they are
    /// normalized and quantized to u16 as the chain stores them. Missing parameters take the
    /// reference chain's defaults for a new subnet. See examples/yuma/ for scenarios.
    Simulate(SimulateArgs),
}

/// Arguments of `tao yuma simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario file (JSON).
    scenario: PathBuf,
    /// Also draw dividends and incentive over the epochs into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// Runs a `tao yuma` command.
pub fn run(command: YumaCommand, json: bool) -> Result<(), Failure> {
    match command {
        YumaCommand::Simulate(args) => simulate(&args, json),
    }
}

fn simulate(args: &SimulateArgs, json: bool) -> Result<(), Failure> {
    if let Some(plot) = &args.plot {
        let svg = plot.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        if !svg {
            return Err(Failure::user(format!(
                "--plot {}: the plot is an SVG drawing; name the file .svg",
                plot.display()
            ))
            .hint("convert it afterwards if another format is needed (e.g. `rsvg-convert -o plot.png plot.svg`)"));
        }
    }
    let path = args.scenario.display();
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| Failure::user(format!("cannot read scenario {path}: {e}")))?;
    let scenario = scenario::parse(&text).map_err(|e| {
        Failure::user(format!("{path}: {e}")).hint(
            "the format is shown by `tao yuma simulate --help`; examples are in examples/yuma/",
        )
    })?;
    let results = simulate::run(&scenario)
        .map_err(|e| Failure::user(format!("{path}: the epoch rejected the scenario: {e}")))?;
    if json {
        println!("{}", render::json(&results));
    } else {
        print!("{}", render::table(&results, scenario.validators));
    }
    if let Some(plot) = &args.plot {
        std::fs::write(plot, render::svg(&results))
            .map_err(|e| Failure::user(format!("cannot write plot {}: {e}", plot.display())))?;
        if !json {
            println!("plot written to {}", plot.display());
        }
    }
    Ok(())
}
