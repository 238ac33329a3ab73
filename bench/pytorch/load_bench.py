"""PyTorch side of `cargo xtask bench`'s weight-loading comparison (issue 12's bar: Aegis's
import is not slower than PyTorch's `load_state_dict` on the same file by more than 2x).

    python3 bench/pytorch/load_bench.py --out target/bench/load [--repeats 20] [--threads 2]

Writes a ResNet-style CNN with batch norm (about 11 M parameters, 45 MB as float32) to OUT:
`arch.json` (the Aegis spec), `model.safetensors`, `model.pt`; then times, for each file, the
median of `--repeats` runs of reading it and `model.load_state_dict(...)` into a model that
already exists (construction not timed), and of building the model and then loading (what a
fresh process waits for), after one warm-up. Prints one JSON object: {"torch": version,
"threads": n, "parameters": p, "seconds": {"safetensors": s, "pt": s},
"seconds_with_build": {...}}. The Rust side times `aegis_model::import::load_pytorch`
on the same files in the same run (xtask/src/load_bench.rs).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aegis_spec import Normalize, Residual, write_spec  # noqa: E402


def block(cin, cout, stride):
    body = [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
    ]
    proj = None
    if stride != 1 or cin != cout:
        proj = [nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)]
    return [Residual(body, proj), nn.ReLU()]


def build():
    """A ResNet-18-like network on [3, 32, 32] (widths 64..512, two blocks per stage)."""
    layers = [Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
              nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
        layers += block(cin, cout, stride)
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]
    return nn.Sequential(*layers).eval()


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    model = build()
    write_spec(os.path.join(a.out, "arch.json"), model, [3, 32, 32])
    st, pt = os.path.join(a.out, "model.safetensors"), os.path.join(a.out, "model.pt")
    save_file(model.state_dict(), st)
    torch.save(model.state_dict(), pt)
    target = build()
    readers = {"safetensors": lambda: load_file(st), "pt": lambda: torch.load(pt, weights_only=True)}
    seconds = {f: median_time(lambda r=r: target.load_state_dict(r()), a.repeats) for f, r in readers.items()}
    # What a user waits for in a fresh process: build the model, then load into it.
    with_build = {f: median_time(lambda r=r: build().load_state_dict(r()), a.repeats) for f, r in readers.items()}
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.state_dict().values()),
        "seconds": seconds,
        "seconds_with_build": with_build,
    }))


if __name__ == "__main__":
    main()
