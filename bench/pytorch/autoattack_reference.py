"""The reference AutoAttack (`pyautoattack` 0.2.0 on PyPI, the code of fra31/auto-attack) on
an Aegis run, for issue 13's parity and speed bars.

    cargo run -p aegis-model -- export --run RUN --out /tmp/run.safetensors
    python3 bench/pytorch/autoattack_reference.py --arch /tmp/run.arch.json \
        --weights /tmp/run.safetensors [--n 500] [--eps 0.3] [--threads 2]

Loads the exported weights into the PyTorch model the spec describes (`aegis_spec.
model_from_spec`, strict `load_state_dict`), runs `AutoAttack(version='standard', seed=0)`
on the first N bundled MNIST test images in batches of 500, and prints one JSON object:
clean and robust accuracy, the robust accuracy after each attack, and seconds.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from aegis_spec import load_state_dict_converted, model_from_spec  # noqa: E402


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--eps", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from pyautoattack import AutoAttack

    spec = json.load(open(a.arch))
    model = model_from_spec(spec)
    load_state_dict_converted(model, load_file(a.weights))
    model.eval()
    repo = os.path.dirname(os.path.dirname(HERE))
    x = idx(f"{repo}/assets/mnist/t10k-images-idx3-ubyte.gz")[: a.n].astype(np.float32) / 255.0
    y = idx(f"{repo}/assets/mnist/t10k-labels-idx1-ubyte.gz")[: a.n].astype(np.int64)
    x = torch.from_numpy(x).reshape(a.n, *spec["input_shape"])
    y = torch.from_numpy(y)
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean().item()
    import logging
    logging.basicConfig(level=logging.DEBUG, format="%(message)s", stream=sys.stderr)
    adversary = AutoAttack(model, norm="Linf", eps=a.eps, version="standard", seed=0)
    adversary.verbose = True
    start = time.perf_counter()
    adv, _ = adversary.run_standard_evaluation(x, y, batch_size=500)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        robust = (model(adv).argmax(1) == y).float().mean().item()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "n": a.n,
                      "eps": a.eps, "clean_accuracy": clean, "robust_accuracy": robust,
                      "seconds": seconds}))


if __name__ == "__main__":
    main()
