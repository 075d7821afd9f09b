//! Benchmark of one Yuma epoch on dense subnets (n = 256 with 64 validators, n = 4,096 with
//! 256), for Yuma3 (the simulator's configuration), Yuma3 with liquid alpha and the classic
//! model, against the Python simulator (when `YUMA_SIM_ROOT` is set) and the dense `f64`
//! test oracle, all in the same run; then a block of 1,024 subnets of 256 UIDs all running
//! their epoch. The suite lives in `tests/it/bench.rs` (the `bench_smoke` test runs it once,
//! small, in CI).
//!
//! Run: `YUMA_SIM_ROOT=DIR cargo bench -p tao-yuma --bench epoch` (`-- --quick` for fewer
//! runs). The figures that matter are the ratios: machines here are shared and noisy.

#![allow(missing_docs)] // the shared oracle's and suite's fields

#[path = "../tests/it/oracle.rs"]
mod oracle;

#[path = "../tests/it/bench.rs"]
#[allow(dead_code)] // the lines are for the smoke test
mod bench;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    bench::run(if quick { bench::Mode::Quick } else { bench::Mode::Full });
}
