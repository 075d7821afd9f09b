//! Benchmark of one Yuma epoch on dense subnets (n = 256 with 64 validators, n = 4,096 with
//! 256), for Yuma3 (the simulator's configuration), Yuma3 with liquid alpha and the classic
//! model, against the Python simulator (when `YUMA_SIM_ROOT` is set) and the dense `f64`
//! test oracle, all in the same run; then a block of 1,024 subnets of 256 UIDs all running
//! their epoch. The suite lives in `tests/it/bench.rs` (the `bench_smoke` test runs it once,
//! small, in CI).
//!
//! Run: `YUMA_SIM_ROOT=DIR cargo bench -p tao-yuma --bench epoch` (`-- --quick` for fewer
//! runs). The figures that matter are the ratios: machines here are shared and noisy, so the
//! simulator is kept running (`benches/yuma_sim_driver.py`) and alternated with our epoch in
//! rounds, each peer warmed up before its round; the table gives the medians over all rounds
//! and, below the line, each round's ratio (median, lowest, highest).

#![allow(missing_docs)] // the shared oracle's and suite's fields

#[path = "../tests/it/oracle.rs"]
mod oracle;

#[path = "../tests/it/bench.rs"]
#[allow(dead_code)] // the lines are for the smoke test
mod bench;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `--profile N CASE RUNS [sparse|two-threads] [pad=BYTES]`: one case in a loop, for
    // `perf record` or callgrind (no peers, no table); `sparse` times the reference kernel
    // instead of `epoch`, `two-threads` the epoch split across the pool's two threads
    // (`epoch_with_threads`). `--profile block RUNS`: the block's epochs.
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        let arg = |k: usize| args.get(at + k).map(String::as_str).unwrap_or_default();
        // `--profile block RUNS`: the block of 1,024 subnets of 256 UIDs, epochs only.
        if arg(1) == "block" {
            let inputs: Vec<_> =
                (0..1_024u64).map(|s| bench::subnet(256, 64, bench::Case::Yuma3, s + 1)).collect();
            let runs: usize = arg(2).parse().unwrap_or(5);
            for _ in 0..runs.max(1) {
                let start = std::time::Instant::now();
                for input in &inputs {
                    std::hint::black_box(tao_yuma::epoch(std::hint::black_box(input)).ok());
                }
                println!("profile block: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
            }
            return;
        }
        let n: usize = arg(1).parse().unwrap_or(4096);
        let case = match arg(2) {
            "liquid" => bench::Case::Yuma3Liquid,
            "classic" => bench::Case::Classic,
            _ => bench::Case::Yuma3,
        };
        let runs: usize = arg(3).parse().unwrap_or(100);
        let kernel =
            if arg(4) == "sparse" { tao_yuma::Kernel::Sparse } else { tao_yuma::Kernel::Auto };
        let threads = if arg(4) == "two-threads" { 2 } else { tao_yuma::DEFAULT_THREADS };
        let validators = if n > 1000 { 256 } else { 64 };
        let input = bench::subnet(n, validators, case, 0);
        // `pad=BYTES`: that many bytes allocated (untimed) before each epoch and freed after
        // it, which moves every allocation the epoch makes: the n = 256 epoch's time depends
        // on where the heap puts its vectors (medians 0.0363-0.0370 ms over pads of 0-3 KiB,
        // the same build, each pad's repeatable), so an A/B of two builds within ~2% compares
        // them over several pads.
        let pad: usize =
            args.iter().find_map(|a| a.strip_prefix("pad=")?.parse().ok()).unwrap_or(0);
        let mut times: Vec<f64> = (0..runs.max(1))
            .map(|_| {
                let padding = std::hint::black_box(vec![1u8; pad]);
                let start = std::time::Instant::now();
                let input = std::hint::black_box(&input);
                let output = tao_yuma::epoch_with_threads(input, kernel, threads);
                std::hint::black_box(output.expect("valid"));
                let elapsed = start.elapsed().as_secs_f64() * 1e3;
                drop(padding);
                elapsed
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let (min, median) = (times[0], times[times.len() / 2]);
        println!(
            "profile n={n} {case:?} {kernel:?} {threads} thread(s): min {min:.4} ms, median {median:.4} ms ({runs} runs)"
        );
        return;
    }
    // The table's peers share this process's allocator. glibc adapts its thresholds to the
    // largest block freed so far, so a peer's page faults followed what ran before it: the
    // oracle took 58-64 ms at n = 4,096 after our epochs on this thread, 77-119 ms after
    // them on the pool's threads (from the same code). With the thresholds fixed (and the
    // simulator given the same), no peer's time depends on the order: run again with them.
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        let tunables = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728";
        let status = std::env::current_exe().and_then(|exe| {
            std::process::Command::new(exe)
                .args(args.iter().skip(1))
                .env("GLIBC_TUNABLES", tunables)
                .status()
        });
        match status {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(e) => eprintln!("running with fixed allocator thresholds failed ({e}); as is"),
        }
    }
    // `--quick`: every size, few runs. `TAO_BENCH_QUICK` set: the smoke mode the tests use
    // (CI runs every bench once, unoptimized, so none can rot).
    let mode = if std::env::var_os("TAO_BENCH_QUICK").is_some() {
        bench::Mode::Smoke
    } else if args.iter().any(|a| a == "--quick") {
        bench::Mode::Quick
    } else {
        bench::Mode::Full
    };
    bench::run(mode);
}
