//! The benchmark's simulator peer, both sides: the driver script
//! (`benches/yuma_sim_driver.py`, run by the machine's `python3`) and [`bench::Simulator`],
//! against a fake simulator tree (stand-ins for `torch`, `matplotlib` and the simulator's
//! `yumas` module, whose `Yuma3` each test writes). The real simulator (3 GB of wheels) is
//! not needed: these check the protocol and its bounds, which the benchmark relies on to
//! end instead of hanging when the simulator misbehaves.

use crate::bench::{Launch, Simulator, SimulatorError, MAX_SIMULATOR_LINE};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fake simulator tree in a directory of its own, removed when dropped.
struct FakeRoot(PathBuf);

impl FakeRoot {
    /// The tree, with `body` as the body of `Yuma3(W, S, **config)` (after `calls += 1`;
    /// it returns the call count as the new bonds).
    fn new(name: &str, body: &str) -> Self {
        let root = std::env::temp_dir().join(format!("tao-fake-sim-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let src = root.join("sim/src");
        let write = |path: &str, text: &str| {
            let path = src.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "torch.py",
            "class Generator:\n    def manual_seed(self, seed):\n        return self\n\
             def rand(*shape, generator=None):\n    return shape\n\
             def get_num_threads():\n    return 1\n",
        );
        write("matplotlib/__init__.py", "def use(backend):\n    pass\n");
        write("yuma_simulation/__init__.py", "");
        write("yuma_simulation/_internal/__init__.py", "");
        let config = "class Config:\n    def __init__(self, **fields):\n        pass\n";
        write(
            "yuma_simulation/_internal/yumas.py",
            &format!(
                "import sys, time\n{config}\
                 YumaConfig = SimulationHyperparameters = YumaParams = Config\n\
                 calls = 0\n\
                 def Yuma3(W, S, **config):\n    global calls\n    calls += 1\n{body}\n    \
                 return {{'validator_ema_bond': calls}}\n"
            ),
        );
        Self(root)
    }

    /// How to start the driver on this tree: `start` and `answer` bound the waits.
    fn launch(&self, start: Duration, answer: Duration) -> Launch {
        Launch { python: PathBuf::from("python3"), root: self.0.clone(), start, answer }
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Long enough for `python3` to start on a loaded machine; only a failing test waits it out.
const GENEROUS: Duration = Duration::from_secs(60);

/// Whether process `pid` is gone, polled for at most 10 s (it is reaped when killed).
fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// A well-behaved simulator: ready, then each `run K` answered with K times; the driver
/// caps a round at 100,000 epochs, so a round of more comes back short and is refused.
#[test]
fn simulator_rounds_and_the_drivers_cap() {
    let root = FakeRoot::new("rounds", "    pass");
    let mut simulator = Simulator::launch(&root.launch(GENEROUS, GENEROUS), 4, 12).expect("ready");
    let times = simulator.run(3).expect("a round of 3");
    assert_eq!(times.len(), 3);
    assert!(times.iter().all(|t| t.is_finite() && *t >= 0.0), "{times:?}");
    assert_eq!(simulator.run(1).map(|t| t.len()), Some(1), "and the next round");
    assert_eq!(simulator.run(100_001), None, "the driver runs at most 100,000 a round");
    let pid = simulator.id();
    drop(simulator);
    assert!(gone(pid), "a dropped simulator is killed");
}

/// A simulator that hangs in a round: the round gives up after the answer wait, and the
/// process is killed when dropped.
#[test]
fn simulator_hanging_in_a_round_is_given_up() {
    // The driver's own first epoch (before `ready`) passes; the round's hang.
    let root = FakeRoot::new("hang", "    if calls > 1:\n        time.sleep(3600)");
    let answer = Duration::from_millis(300);
    let mut simulator = Simulator::launch(&root.launch(GENEROUS, answer), 4, 12).expect("ready");
    let started = Instant::now();
    assert_eq!(simulator.run(2), None);
    assert!(started.elapsed() >= answer, "waited for the answer");
    assert!(started.elapsed() < GENEROUS, "but not longer than the bound");
    let pid = simulator.id();
    drop(simulator);
    assert!(gone(pid), "killed");
}

/// A simulator that never says `ready` (hangs while starting), one whose first line is
/// something else, one that prints a line past [`MAX_SIMULATOR_LINE`], and an interpreter
/// that does not exist: each a typed error, within the start wait.
#[test]
fn simulator_that_does_not_start_is_refused() {
    let short = Duration::from_millis(300);
    let hangs = FakeRoot::new("never", "    time.sleep(3600)");
    assert!(matches!(
        Simulator::launch(&hangs.launch(short, short), 4, 12),
        Err(SimulatorError::NotReady(None))
    ));
    let chatty = FakeRoot::new("chatty", "    print('loading weights', flush=True)");
    match Simulator::launch(&chatty.launch(GENEROUS, GENEROUS), 4, 12) {
        Err(SimulatorError::NotReady(Some(line))) => assert_eq!(line, "loading weights"),
        other => panic!("expected the first line refused, got {:?}", other.err()),
    }
    let long =
        format!("    sys.stdout.write('x' * {}); sys.stdout.flush()", MAX_SIMULATOR_LINE + 1);
    let flood = FakeRoot::new("flood", &long);
    assert!(matches!(
        Simulator::launch(&flood.launch(GENEROUS, GENEROUS), 4, 12),
        Err(SimulatorError::NotReady(None))
    ));
    let missing = Launch {
        python: hangs.0.join("no-such-python"),
        root: hangs.0.clone(),
        start: short,
        answer: short,
    };
    assert!(matches!(Simulator::launch(&missing, 4, 12), Err(SimulatorError::Spawn(_))));
}
