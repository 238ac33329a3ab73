"""Worked example for the README: train a small BatchNorm CNN on the bundled MNIST subset in
PyTorch, then hand it to Aegis as arch.json + model.safetensors (or model.pt).

    python3 bench/pytorch/mnist_bn_example.py [--out target/example/mnist_bn] [--epochs 3]

A relative --out is resolved against the repository root. Reads assets/mnist/*.gz (IDX, gzip;
4,000 train / 1,000 test images), scales pixels by 1/255 to [0, 1] (shape [N, 1, 28, 28]) and
trains for 3 epochs with Adam (lr 1e-3, batch 64), torch.manual_seed(0), 2 threads. Writes:

    arch.json          Aegis spec, emitted from the nn.Sequential by aegis_spec.py
    model.safetensors  safetensors.torch.save_file(model.state_dict())
    model.pt           torch.save(model.state_dict())
    test_logits.npy    float32 [1000, 10]: eval-mode logits of the test split, in file order
    summary.json       test accuracy, load timings, versions

and prints the test accuracy and the PyTorch time of `model.load_state_dict(torch.load(
"model.pt"))` and of loading the safetensors file (median of 20 after one warm-up).
"""
import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
from aegis_spec import Normalize, write_spec  # noqa: E402

INPUT_SHAPE = [1, 28, 28]


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def load_split(prefix):
    x = idx(REPO / f"assets/mnist/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(REPO / f"assets/mnist/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x).reshape(-1, *INPUT_SHAPE), torch.from_numpy(y)


def build_model():
    return nn.Sequential(
        Normalize(0.1307, 0.3081),  # 0
        nn.Conv2d(1, 16, 3, padding=1, bias=False),  # 1
        nn.BatchNorm2d(16),  # 2
        nn.ReLU(),  # 3
        nn.MaxPool2d(2),  # 4 -> [16, 14, 14]
        nn.Conv2d(16, 32, 3, padding=1, bias=False),  # 5
        nn.BatchNorm2d(32),  # 6
        nn.ReLU(),  # 7
        nn.MaxPool2d(2),  # 8 -> [32, 7, 7]
        nn.Flatten(),  # 9 -> 1568
        nn.Dropout(0.25),  # 10
        nn.Linear(32 * 7 * 7, 10),  # 11
    )


def logits_of(model, x, batch=500):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def median_time(fn, repeats=20):
    fn()  # warm-up
    secs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t)
    return statistics.median(secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="target/example/mnist_bn")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    out = Path(a.out) if Path(a.out).is_absolute() else REPO / a.out
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        total = 0.0
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        acc = (logits_of(model, xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch + 1}: train loss {total / len(xtr):.4f}, test accuracy {acc:.4f}")
    train_s = time.perf_counter() - t0
    model.eval()

    write_spec(out / "arch.json", model, INPUT_SHAPE)
    sd = model.state_dict()
    safetensors.torch.save_file(sd, str(out / "model.safetensors"))
    torch.save(sd, out / "model.pt")
    logits = logits_of(model, xte).numpy().astype(np.float32)
    np.save(out / "test_logits.npy", logits)
    accuracy = float((logits.argmax(1) == yte.numpy()).mean())

    fresh = build_model().eval()
    pt_s = median_time(lambda: fresh.load_state_dict(torch.load(out / "model.pt")))
    st_s = median_time(lambda: fresh.load_state_dict(safetensors.torch.load_file(str(out / "model.safetensors"))))
    assert np.array_equal(logits_of(fresh, xte).numpy(), logits), "reloaded model differs"

    summary = {
        "test_accuracy": accuracy,
        "test_images": len(yte),
        "epochs": a.epochs,
        "train_seconds": round(train_s, 2),
        "load_state_dict_torch_load_pt_ms": round(pt_s * 1e3, 3),
        "load_state_dict_safetensors_ms": round(st_s * 1e3, 3),
        "model_pt_bytes": (out / "model.pt").stat().st_size,
        "model_safetensors_bytes": (out / "model.safetensors").stat().st_size,
        "threads": a.threads,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"test accuracy {accuracy:.4f} ({len(yte)} images)")
    print(f"model.load_state_dict(torch.load('model.pt')): {pt_s * 1e3:.3f} ms (median of 20)")
    print(f"model.load_state_dict(safetensors.torch.load_file('model.safetensors')): {st_s * 1e3:.3f} ms (median of 20)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
