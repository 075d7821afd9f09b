//! The epoch benchmark's suite, shared by `benches/epoch.rs` (timed, optimized) and the
//! `bench_smoke` test (one small run in CI, so the benchmark cannot rot).
//!
//! Cases: dense subnets of n UIDs, V validators weighting all M = n − V miners, bonds from
//! one previous epoch. Peers measured in the same run on the same shapes:
//! * the Python research simulator (`bactensor/yuma-simulation`, torch on CPU), when
//!   `YUMA_SIM_ROOT` points at a directory prepared as `../shared/bench/yuma-sim/README.md`
//!   says; it runs Yuma3 with fixed-rate bonds, so it is the peer of that case only. It is
//!   kept running (`benches/yuma_sim_driver.py`, the epoch `pysim_epoch.py` times) and
//!   alternated with ours in rounds, each peer warm and the other idle ([`alternate`]): both
//!   then run under the same moment's load of this shared machine (timed one after the
//!   other, the ratio followed which peer caught a slow phase; the load still moves our
//!   epoch more than the simulator's);
//! * the test oracle (`oracle.rs`): a dense `f64` epoch on the V × M block, straight from
//!   the equations, the same number of runs as ours;
//! * our own reference kernel (`Kernel::Sparse`, the sparse rows the dense kernel is
//!   property-tested against), the same number of runs.
//!
//! Also timed: a block in which 1,024 subnets of 256 UIDs all run their epoch.

use std::process::Command;
use std::time::{Duration, Instant};
use substrate_fixed::types::I64F64;
use tao_primitives::{AlphaRao, BlockNumber, Uid};
use tao_yuma::{
    epoch, epoch_with, epoch_with_threads, BondModel, CommitReveal, Kernel, LiquidAlpha, Params,
    YumaInput,
};

/// How much to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// CI: the small size once, a block of 8 subnets, no simulator (unoptimized build).
    Smoke,
    /// `--quick`: every size, few runs.
    Quick,
    /// Every size, enough runs for a stable median.
    Full,
}

/// The three configurations timed per size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Case {
    /// Yuma3, fixed-rate bond EMA (0.1), bonds penalty 1: the simulator's configuration.
    Yuma3,
    /// Yuma3 with liquid alpha (a sigmoid rate per bond: one exponential per cell).
    Yuma3Liquid,
    /// The classic bond model.
    Classic,
}

/// One line of the table (milliseconds, medians).
#[derive(Debug)]
pub struct Line {
    pub n: usize,
    pub validators: usize,
    pub case: Case,
    pub ours: f64,
    pub simulator: Option<f64>,
    pub oracle: f64,
    /// The reference sparse kernel (`Kernel::Sparse`), the same runs.
    pub sparse: f64,
}

/// A deterministic xorshift generator (no `rand` dependency); the kernel tests draw their
/// random subnets from it too.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits (not an `Iterator`: it never ends).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A weight, with the edges (0, `u16::MAX`, tiny values) more often than chance.
    pub fn u16(&mut self) -> u16 {
        match self.below(6) {
            0 => 0,
            1 => u16::MAX,
            2 => self.below(8) as u16,
            _ => self.next() as u16,
        }
    }
}

/// `n` UIDs, the first `validators` staked and weighting every miner; bonds from one
/// previous epoch so the EMA has work to do.
pub fn subnet(n: usize, validators: usize, case: Case, seed: u64) -> YumaInput {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64 ^ seed.rotate_left(17));
    let stake = (0..n)
        .map(|i| I64F64::from_num(if i < validators { 1_000 + rng.next() % 1_000_000 } else { 0 }))
        .collect();
    let weights = (0..n)
        .map(|i| {
            if i < validators {
                (validators..n)
                    .map(|j| (Uid::new(j as u16), (rng.next() % 65_536) as u16))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let (bond_model, liquid_alpha) = match case {
        Case::Yuma3 => (BondModel::Yuma3, LiquidAlpha::Off),
        Case::Yuma3Liquid => (
            BondModel::Yuma3,
            LiquidAlpha::On { alpha_low: 45_875, alpha_high: 58_982, steepness: 1_000 },
        ),
        Case::Classic => (BondModel::Classic, LiquidAlpha::Off),
    };
    let mut input = YumaInput {
        block: BlockNumber::new(1_000),
        tempo: 360,
        last_epoch_block: BlockNumber::new(640),
        activity_cutoff: 5_000,
        stake,
        stake_threshold: 0,
        owner: None,
        validator_permit: (0..n).map(|i| i < validators).collect(),
        last_update: vec![BlockNumber::new(990); n],
        block_at_registration: vec![BlockNumber::new(1); n],
        weights,
        bonds: vec![Vec::new(); n],
        commit_reveal: CommitReveal::Off,
        params: Params {
            max_allowed_validators: validators as u16,
            bond_model,
            liquid_alpha,
            ..Params::default()
        },
        emission: AlphaRao::new(1_000_000_000),
    };
    input.bonds = epoch(&input).expect("valid").bonds_u16();
    input
}

/// Wall time of each of `runs` calls (at least one), in milliseconds.
fn times(runs: usize, mut f: impl FnMut()) -> Vec<f64> {
    (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// Median wall time of `runs` calls, in milliseconds.
fn median(runs: usize, f: impl FnMut()) -> f64 {
    median_of(&mut times(runs, f))
}

/// The median of some times (0 for none); sorts them.
fn median_of(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// The Python simulator kept running (`benches/yuma_sim_driver.py`, the epoch of
/// `../shared/bench/yuma-sim/pysim_epoch.py`) for one V × M shape, so that the benchmark can
/// alternate it with our epoch in rounds: on this shared machine a peer's time follows the
/// load of the moment, and peers timed one after the other can each catch a different one.
/// Every wait on it is bounded ([`Launch`]), so is each line it prints
/// ([`MAX_SIMULATOR_LINE`]) and how many lines wait to be read (4); dropped, it is killed.
pub struct Simulator {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
    answer: Duration,
}

/// How long each peer runs untimed before its round of [`alternate`].
const WARM_UP: Duration = Duration::from_millis(20);

/// How long the simulator may take to start (Python, torch), or to answer a round.
const SIMULATOR_WAIT: Duration = Duration::from_secs(180);

/// The longest line read from the simulator, in bytes (a round of the driver's largest,
/// 100,000 epochs, prints about 1 MB); past it the simulator is taken as stopped.
pub const MAX_SIMULATOR_LINE: u64 = 4 << 20;

/// How to start the simulator's driver: the interpreter, the directory it reads the
/// simulator from (`YUMA_ROOT`), and how long it may take to start and to answer a round.
pub struct Launch {
    pub python: std::path::PathBuf,
    pub root: std::path::PathBuf,
    pub start: Duration,
    pub answer: Duration,
}

/// Why the simulator did not start.
#[derive(Debug)]
pub enum SimulatorError {
    /// The interpreter could not be run.
    Spawn(std::io::Error),
    /// Its first line was not `ready` (`None`: no line before [`Launch::start`] passed, or it
    /// stopped).
    NotReady(Option<String>),
}

impl std::fmt::Display for SimulatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spawn(e) => write!(f, "cannot start the interpreter: {e}"),
            Self::NotReady(Some(line)) => write!(f, "first line is not `ready`: {line:?}"),
            Self::NotReady(None) => write!(f, "no `ready` in time (or it stopped)"),
        }
    }
}

impl Simulator {
    /// Started if `YUMA_SIM_ROOT` is set and the simulator answers; else `None` (with why).
    fn start(validators: usize, miners: usize) -> Option<Self> {
        let root = std::path::PathBuf::from(std::env::var_os("YUMA_SIM_ROOT")?);
        let python = root.join("venv/bin/python");
        let launch = Launch { python, root, start: SIMULATOR_WAIT, answer: SIMULATOR_WAIT };
        Self::launch(&launch, validators, miners)
            .map_err(|e| println!("simulator ({}): {e}", launch.python.display()))
            .ok()
    }

    /// The driver on `launch.python` for V × M, once it has said `ready`.
    pub fn launch(
        launch: &Launch,
        validators: usize,
        miners: usize,
    ) -> Result<Self, SimulatorError> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/yuma_sim_driver.py");
        let mut child = Command::new(&launch.python)
            .env("YUMA_ROOT", &launch.root)
            .args([script, &validators.to_string(), &miners.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(SimulatorError::Spawn)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SimulatorError::NotReady(None));
        };
        let (send, lines) = std::sync::mpsc::sync_channel(4);
        std::thread::spawn(move || {
            use std::io::{BufRead, Read};
            let mut stdout = std::io::BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match (&mut stdout).take(MAX_SIMULATOR_LINE).read_until(b'\n', &mut line) {
                    // A complete line (the last one may lack its newline at the end).
                    Ok(n)
                        if n > 0 && (line.ends_with(b"\n") || (n as u64) < MAX_SIMULATOR_LINE) =>
                    {
                        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                        if send.send(text).is_err() {
                            return;
                        }
                    }
                    // The end, an error, or a line too long: no more lines.
                    _ => return,
                }
            }
        });
        let simulator = Self { child, stdin, lines, answer: launch.answer };
        match simulator.lines.recv_timeout(launch.start) {
            Ok(line) if line.starts_with("ready") => Ok(simulator),
            Ok(line) => Err(SimulatorError::NotReady(Some(line))),
            Err(_) => Err(SimulatorError::NotReady(None)),
        }
    }

    /// The driver's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Times `epochs` epochs of the simulator (ms each); `None` if it answers anything else
    /// or nothing within [`Launch::answer`].
    pub fn run(&mut self, epochs: usize) -> Option<Vec<f64>> {
        use std::io::Write;
        writeln!(self.stdin, "run {epochs}").ok()?;
        let line = self.lines.recv_timeout(self.answer).ok()?;
        let times: Vec<f64> = line
            .strip_prefix("times ")?
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        self.quiet();
        (times.len() == epochs).then_some(times)
    }

    /// Waits (a bounded poll) until none of the simulator's threads runs: after its round,
    /// torch's worker threads spin a while before they sleep, and would take a core from
    /// our next round. Their time on a CPU (`/proc/PID/task/*/schedstat`, nanoseconds)
    /// must stay the same over 0.5 ms; at most 200 ms (where `/proc` is missing: no wait).
    fn quiet(&self) {
        let pid = self.child.id();
        let on_cpu = || -> Option<u64> {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
            let mut total = 0u64;
            for task in tasks.flatten() {
                let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
                total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
            }
            Some(total)
        };
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut last = on_cpu();
        while last.is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(500));
            let now = on_cpu();
            if now == last {
                return;
            }
            last = now;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our epoch and the simulator alternated: `rounds` rounds of `epochs` timed epochs each
/// (after [`WARM_UP`] untimed), ours then the simulator's. Returns the medians over all
/// rounds (ours, the simulator's) and each round's ratio of medians (simulator / ours);
/// `None` if the simulator stopped answering.
fn alternate(
    input: &YumaInput,
    simulator: &mut Simulator,
    rounds: usize,
    epochs: usize,
) -> Option<(f64, f64, Vec<f64>)> {
    let ours_once = || {
        std::hint::black_box(epoch(std::hint::black_box(input)).expect("valid"));
    };
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Each peer's round starts with epochs untimed for at least `WARM_UP` (at least
        // one): after the other's round, a peer's first epochs run slower for a few
        // milliseconds (measured: ours at n = 4,096 took 3.1–9.2 ms for the first timed
        // epoch after one untimed one against 2.0–2.8 ms for the next; as slow after an idle
        // pause as after the simulator's round). The driver does the same.
        let warm = Instant::now();
        while {
            ours_once();
            warm.elapsed() < WARM_UP
        } {}
        let mut round = times(epochs, ours_once);
        let mut their_round = simulator.run(epochs)?;
        ours.extend_from_slice(&round);
        theirs.extend_from_slice(&their_round);
        ratios.push(median_of(&mut their_round) / median_of(&mut round));
    }
    Some((median_of(&mut ours), median_of(&mut theirs), ratios))
}

/// Runs the suite, prints the table and returns its lines. Panics if the dense kernel and
/// the reference sparse kernel disagree on a benchmark input.
pub fn run(mode: Mode) -> Vec<Line> {
    let sizes: &[(usize, usize)] =
        if mode == Mode::Smoke { &[(256, 64)] } else { &[(256, 64), (4096, 256)] };
    // What this build may use (`.cargo/config.toml` compiles for the building CPU).
    let isa = if cfg!(target_feature = "avx512f") {
        "AVX-512"
    } else if cfg!(target_feature = "avx2") {
        "AVX2"
    } else {
        "baseline (no AVX2)"
    };
    println!(
        "ours: this build's vector instructions: {isa}; threads: {}",
        tao_yuma::DEFAULT_THREADS
    );
    if let Some(tunables) = std::env::var_os("GLIBC_TUNABLES") {
        println!(
            "allocator thresholds fixed for every peer (the simulator too): GLIBC_TUNABLES={}",
            tunables.to_string_lossy()
        );
    }
    println!(
        "peers, same run, same inputs: sim = the Python simulator (torch on CPU, Yuma3 only, \
         when YUMA_SIM_ROOT is set; alternated with ours in rounds, each peer warmed up for \
         20 ms before its round); oracle = the dense f64 test oracle (tests/it/oracle.rs, \
         V x M block, as many runs as ours); sparse = our reference kernel (Kernel::Sparse)"
    );
    println!(
        "{:<6} {:>11} {:<12} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "n",
        "V x M",
        "case",
        "ours ms",
        "sim ms",
        "oracle ms",
        "sparse ms",
        "sim/ours",
        "orc/ours",
        "spa/ours"
    );
    let mut lines = Vec::new();
    for &(n, validators) in sizes {
        let miners = n - validators;
        for case in [Case::Yuma3, Case::Yuma3Liquid, Case::Classic] {
            let input = subnet(n, validators, case, 0);
            // Bit for bit: the fast kernel against the reference, on this very input.
            // And two threads against one (the large block is split).
            let reference = epoch_with(&input, Kernel::Sparse).expect("valid");
            assert_eq!(
                epoch_with(&input, Kernel::Auto).expect("valid"),
                reference,
                "kernels disagree: n={n} {case:?}"
            );
            assert_eq!(
                epoch_with_threads(&input, Kernel::Auto, 2).expect("valid"),
                reference,
                "two threads: n={n} {case:?}"
            );
            let runs = match (mode, n > 1000) {
                (Mode::Smoke, _) => 1,
                (Mode::Quick, _) => 5,
                (Mode::Full, true) => 63,
                (Mode::Full, false) => 1_000,
            };
            // Against the simulator (Yuma3): alternated in rounds; else ours alone.
            let mut simulator = match (mode, case) {
                (Mode::Smoke, _) | (_, Case::Yuma3Liquid | Case::Classic) => None,
                _ => Simulator::start(validators, miners),
            };
            // Rounds of 50 epochs (n = 256: ~2 ms of ours, ~30 ms of the simulator's) or 3
            // (n = 4,096: ~10 ms, ~100 ms); one epoch each in `--quick`.
            let per_round = match (mode, n > 1000) {
                (Mode::Full, false) => 50,
                (Mode::Full, true) => 3,
                _ => 1,
            };
            let rounds = (runs / per_round).max(1);
            let alternated = simulator.as_mut().and_then(|simulator| {
                let alternated = alternate(&input, simulator, rounds, per_round);
                if alternated.is_none() {
                    println!("simulator: stopped answering; n={n} timed without it");
                }
                alternated
            });
            drop(simulator);
            let (ours, simulator) = match &alternated {
                Some((ours, theirs, _)) => (*ours, Some(*theirs)),
                None => {
                    let ours = median(runs, || {
                        std::hint::black_box(epoch(std::hint::black_box(&input)).expect("valid"));
                    });
                    (ours, None)
                }
            };
            let oracle = median(runs, || {
                std::hint::black_box(crate::oracle::epoch(std::hint::black_box(&input)));
            });
            let sparse = median(runs, || {
                std::hint::black_box(
                    epoch_with(std::hint::black_box(&input), Kernel::Sparse).expect("valid"),
                );
            });
            let label = format!("{validators}x{miners}");
            let sim_text = simulator.map_or("-".to_owned(), |s| format!("{s:.4}"));
            let sim_ratio = simulator.map_or("-".to_owned(), |s| format!("{:.1}x", s / ours));
            println!(
                "{n:<6} {label:>11} {:<12} {ours:>10.4} {sim_text:>10} {oracle:>10.3} {sparse:>10.3} {sim_ratio:>9} {:>8.1}x {:>8.1}x",
                format!("{case:?}"),
                oracle / ours,
                sparse / ours
            );
            if let Some((_, _, mut ratios)) = alternated {
                let rounds = ratios.len();
                let middle = median_of(&mut ratios);
                let (low, high) = (ratios.first(), ratios.last());
                println!(
                    "       sim/ours per round ({rounds} rounds of {} epochs, ours then the \
                     simulator's): median {middle:.1}x, lowest {:.1}x, highest {:.1}x",
                    per_round,
                    low.copied().unwrap_or_default(),
                    high.copied().unwrap_or_default()
                );
            }
            if n > 1000 {
                // What the pool's two threads would give (`DEFAULT_THREADS` says why `epoch`
                // does not use them).
                let two = median(runs, || {
                    std::hint::black_box(
                        epoch_with_threads(std::hint::black_box(&input), Kernel::Auto, 2)
                            .expect("valid"),
                    );
                });
                println!(
                    "       ours on two threads (epoch_with_threads(_, _, 2), not what epoch \
                     uses): {two:.3} ms, ours/two {:.2}x",
                    ours / two
                );
            }
            lines.push(Line { n, validators, case, ours, simulator, oracle, sparse });
        }
    }

    // A block in which every subnet runs its epoch: 1,024 subnets of 256 UIDs (64
    // validators, dense weights, the default Yuma3 parameters).
    let subnets = if mode == Mode::Smoke { 8 } else { 1_024 };
    let inputs: Vec<YumaInput> =
        (0..subnets).map(|s| subnet(256, 64, Case::Yuma3, s as u64 + 1)).collect();
    let block_runs = match mode {
        Mode::Smoke | Mode::Quick => 1,
        Mode::Full => 5,
    };
    let block = median(block_runs, || {
        for input in &inputs {
            std::hint::black_box(epoch(std::hint::black_box(input)).expect("valid"));
        }
    });
    let reference = median(1, || {
        for input in &inputs {
            std::hint::black_box(
                epoch_with(std::hint::black_box(input), Kernel::Sparse).expect("valid"),
            );
        }
    });
    println!(
        "block: {subnets} subnets x 256 UIDs, every epoch: {block:.1} ms ({:.1} us per subnet); \
         the sparse reference kernel: {reference:.1} ms ({:.1}x)",
        block * 1e3 / subnets as f64,
        reference / block
    );
    // The crate's share of the chain's work around each epoch (`run_epoch` in the runtime):
    // the input assembled from the state (its weight and bond rows cloned), the epoch, and
    // its outputs converted to what the state stores (u16 proportions and bonds).
    let assemble = median(block_runs, || {
        for input in &inputs {
            std::hint::black_box(std::hint::black_box(input).clone());
        }
    });
    let outputs: Vec<tao_yuma::YumaOutput> =
        inputs.iter().map(|input| epoch(input).expect("valid")).collect();
    let store = median(block_runs, || {
        for output in std::hint::black_box(&outputs) {
            for values in [
                &output.consensus,
                &output.incentive,
                &output.dividends,
                &output.validator_trust,
                &output.stake,
            ] {
                std::hint::black_box(tao_yuma::to_u16(values));
            }
            std::hint::black_box(output.bonds_u16());
        }
    });
    let total = assemble + block + store;
    println!(
        "block work around the epochs: assemble inputs {assemble:.1} ms + epochs {block:.1} ms + \
         store outputs {store:.1} ms = {total:.1} ms; the epochs are {:.0}% (the crate's share \
         only; the whole block, state reads, payouts and state root included: \
         `cargo bench -p tao-runtime --bench block`)",
        100.0 * block / total
    );
    lines
}
