"""The Python Yuma simulator as a benchmark peer that stays running, so that the benchmark
can alternate it with our epoch in rounds (both then run under the same load of a shared,
noisy machine).

The epoch timed is exactly `../shared/bench/yuma-sim/pysim_epoch.py`'s: the simulator's
`Yuma3` on dense random V x M weights (torch on CPU), fixed-rate bonds (0.1), bonds penalty 1,
each epoch's bonds fed to the next.

usage: YUMA_ROOT=DIR python yuma_sim_driver.py V M     (DIR/sim holds the simulator source)
Prints `ready` once set up (one epoch run, untimed). Then, per line `run K` on stdin: runs
epochs untimed for at least 20 ms (at least one: a peer's first epochs after the other
peer's round run slower), then K timed, and prints `times T1 .. TK` (milliseconds each).
Exits on `quit` or end of input.
"""
import os, sys, time, types

sim = os.path.join(os.environ.get("YUMA_ROOT", "."), "sim", "src")
sys.path.insert(0, sim)
sys.modules.setdefault("bittensor", types.ModuleType("bittensor"))  # only used for downloads
import matplotlib  # noqa: E402
matplotlib.use("Agg")
from yuma_simulation._internal import yumas  # noqa: E402
import torch  # noqa: E402

V, M = int(sys.argv[1]), int(sys.argv[2])
g = torch.Generator().manual_seed(1)
W = torch.rand(V, M, generator=g)
S = torch.rand(V, generator=g)
cfg = yumas.YumaConfig(simulation=yumas.SimulationHyperparameters(bond_penalty=1.0),
                       yuma_params=yumas.YumaParams(bond_moving_avg=0.1))
B = None
WARM_UP_S = 0.020  # as the benchmark's WARM_UP


def epoch():
    global B
    out = yumas.Yuma3(W, S, num_servers=M, num_validators=V, use_full_matrices=True, B_old=B,
                      config=cfg)
    B = out.get("validator_ema_bond", out.get("bonds"))


epoch()
print(f"ready torch_threads={torch.get_num_threads()}", flush=True)
for line in sys.stdin:
    words = line.split()
    if words[:1] != ["run"] or len(words) != 2:
        break
    warm = time.perf_counter()
    epoch()
    while time.perf_counter() - warm < WARM_UP_S:
        epoch()
    times = []
    for _ in range(max(1, min(int(words[1]), 100_000))):
        t = time.perf_counter()
        epoch()
        times.append((time.perf_counter() - t) * 1000)
    print("times " + " ".join(f"{t:.5f}" for t in times), flush=True)
