"""Fixtures for the Rust tests that check Aegis imports a PyTorch model exactly.

The committed fixtures in tests/fixtures/torch_import/ were produced with torch 2.15.0+cu132
(run on CPU), numpy 2.4.6 and safetensors 0.8.0; the exact versions are also recorded in that
folder's README.md. Regenerate them (deterministic: torch.manual_seed(0), numpy seed 0) with

    python3 bench/pytorch/import_fixtures.py [--out tests/fixtures/torch_import]

A relative --out is resolved against the repository root, so this works from any folder.

Check an export written by Aegis (same tensor names as the PyTorch state_dict) against the
reference logits:

    python3 bench/pytorch/import_fixtures.py --check-export FILE.safetensors [--out DIR]

loads FILE into a fresh model with load_state_dict(strict=True) (dtypes converted to the
model's; a one-element num_batches_tracked is made 0-dim), runs DIR/inputs.npy and prints the
max absolute difference to DIR/logits.npy; exits 1 if it is above 1e-5.

The model is a small CNN on [3, 16, 16] colour inputs with BatchNorm and residual blocks,
written as ONE top-level nn.Sequential, so its indices are the state_dict prefixes
(`1.weight`, `4.body.0.weight`, `6.projection.1.running_mean`, ...). Its Aegis spec
(arch.json) is emitted from the same module list by aegis_spec.py.
"""
import argparse
import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
from aegis_spec import Normalize, Residual, load_state_dict_converted, write_spec  # noqa: E402

INPUT_SHAPE = [3, 16, 16]
BATCH = 16
TOLERANCE = 1e-5
DEFAULT_OUT = "tests/fixtures/torch_import"
CONV_GAIN = 2.0
LINEAR_GAIN = 3.0


def build_model():
    return nn.Sequential(
        Normalize(mean=[0.5, 0.45, 0.4], std=[0.25, 0.24, 0.26]),  # 0
        nn.Conv2d(3, 8, 3, padding=1, bias=False),  # 1
        nn.BatchNorm2d(8),  # 2
        nn.ReLU(),  # 3
        Residual([nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),  # 4
                  nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)]),
        nn.ReLU(),  # 5
        Residual([nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),  # 6
                  nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)],
                 projection=[nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16)]),  # -> [16, 8, 8]
        nn.ReLU(),  # 7
        nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4),  # 8 (with bias)
        nn.GELU(),  # 9
        nn.MaxPool2d(2),  # 10 -> [16, 4, 4]
        nn.AvgPool2d(kernel_size=3, stride=1, padding=1),  # 11 (count_include_pad=True)
        nn.AdaptiveAvgPool2d((2, 2)),  # 12 -> [16, 2, 2]
        nn.Flatten(),  # 13 -> 64
        nn.LayerNorm(64),  # 14
        nn.Linear(64, 32),  # 15
        nn.BatchNorm1d(32),  # 16
        nn.LeakyReLU(0.2),  # 17
        nn.Dropout(0.1),  # 18
        nn.Linear(32, 16),  # 19
        nn.SiLU(),  # 20
        nn.Linear(16, 16),  # 21
        nn.Tanh(),  # 22
        nn.Linear(16, 16),  # 23
        nn.Sigmoid(),  # 24
        nn.Linear(16, 10),  # 25
    )


def make_model():
    """Seeded model with non-trivial BatchNorm/LayerNorm values, in eval mode.

    Conv weights are scaled by 2 and Linear weights by 3 after PyTorch's default init. With the
    default init alone the logits hardly depend on the input (all 16 argmax labels equal, and a
    1e-4 relative change of an early conv moved the logits by < 1e-6, below the 1e-5 tolerance).
    Scaled, such a change moves them by 1e-5..1e-4, realistic import bugs (GELU tanh
    approximation, a wrong BatchNorm/LayerNorm eps, count_include_pad) by 4e-4..5e-2, and the
    float32 round-off (float32 vs float64 forward) stays at about 5e-7."""
    torch.manual_seed(0)
    model = build_model()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(CONV_GAIN)
            elif isinstance(m, nn.Linear):
                m.weight.mul_(LINEAR_GAIN)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
    return model.eval()


def resolve(p):
    p = Path(p)
    return p if p.is_absolute() else REPO / p


def run(model, inputs):
    with torch.no_grad():
        return model(torch.from_numpy(inputs)).numpy().astype(np.float32)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    model = make_model()
    sd = model.state_dict()

    spec = write_spec(out / "arch.json", model, INPUT_SHAPE)
    safetensors.torch.save_file(sd, str(out / "model.safetensors"))
    torch.save(sd, out / "model.pt")

    rng = np.random.default_rng(0)
    inputs = rng.uniform(0.0, 1.0, size=[BATCH] + INPUT_SHAPE).astype(np.float32)
    logits = run(model, inputs)
    labels = logits.argmax(axis=1).astype(np.int64)
    np.save(out / "inputs.npy", inputs)
    np.save(out / "logits.npy", logits)
    np.save(out / "labels.npy", labels)

    # Bad files for the error tests; each has exactly one defect against model.safetensors.
    bad = dict(sd)
    del bad["15.weight"]
    safetensors.torch.save_file(bad, str(out / "missing_key.safetensors"))
    bad = dict(sd)
    bad["99.weight"] = torch.randn(4)
    safetensors.torch.save_file(bad, str(out / "unexpected_key.safetensors"))
    bad = dict(sd)
    bad["15.weight"] = sd["15.weight"][:, :63].contiguous()
    safetensors.torch.save_file(bad, str(out / "wrong_shape.safetensors"))
    bad = dict(sd)
    bad["15.weight"] = (sd["15.weight"] * 100).to(torch.int32)
    safetensors.torch.save_file(bad, str(out / "wrong_dtype.safetensors"))
    # A pickled whole nn.Module (not a state_dict): loading it needs weights_only=False and the
    # classes aegis_spec.Normalize / aegis_spec.Residual importable.
    torch.save(model, out / "whole_model.pt")
    np.save(out / "bad_labels.npy", labels[:15].copy())

    # Self-checks: both weight files reproduce the logits exactly; the pickle is not a state_dict.
    for name, load in [("model.pt", lambda p: torch.load(p, weights_only=True)),
                       ("model.safetensors", lambda p: safetensors.torch.load_file(str(p)))]:
        fresh = build_model().eval()
        fresh.load_state_dict(load(out / name), strict=True)
        assert np.array_equal(run(fresh, inputs), logits), f"{name} does not reproduce logits.npy"
    try:
        torch.load(out / "whole_model.pt", weights_only=True)
        raise AssertionError("whole_model.pt loaded as weights-only")
    except Exception as e:  # expected: pickled classes are not allowed by the weights-only loader
        if isinstance(e, AssertionError):
            raise
    whole = torch.load(out / "whole_model.pt", weights_only=False)
    assert isinstance(whole, nn.Sequential) and np.array_equal(run(whole, inputs), logits)

    roundoff = float(np.abs(make_model().double()(torch.from_numpy(inputs).double()).detach().numpy() - logits).max())
    write_readme(out, sd, spec, logits, labels, roundoff)
    for p in out.iterdir():  # safetensors writes 0600; keep the folder uniform
        os.chmod(p, 0o644)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"wrote {out} ({total} bytes), torch {torch.__version__}")
    print("labels:", labels.tolist())


def write_readme(out, sd, spec, logits, labels, roundoff):
    files = [
        ("arch.json", "Aegis architecture spec of the model, emitted from the nn.Sequential by bench/pytorch/aegis_spec.py"),
        ("model.safetensors", "`safetensors.torch.save_file(model.state_dict())`, incl. the int64 0-dim `num_batches_tracked` entries"),
        ("model.pt", "`torch.save(model.state_dict())` (zip pickle; loadable with `torch.load(..., weights_only=True)`)"),
        ("inputs.npy", f"float32 {[BATCH] + INPUT_SHAPE}, uniform in [0, 1) (numpy default_rng(0))"),
        ("logits.npy", f"float32 {list(logits.shape)} = model(inputs) in eval mode under torch.no_grad()"),
        ("labels.npy", f"int64 {list(labels.shape)} = argmax of logits"),
        ("missing_key.safetensors", "model.safetensors without `15.weight`"),
        ("unexpected_key.safetensors", "model.safetensors plus `99.weight` (float32 [4])"),
        ("wrong_shape.safetensors", "model.safetensors with `15.weight` of shape [32, 63] (expected [32, 64])"),
        ("wrong_dtype.safetensors", "model.safetensors with `15.weight` as int32 (expected float32)"),
        ("whole_model.pt", "`torch.save(model)`: a pickled whole nn.Module, not a state_dict; loads only with "
                           "`weights_only=False` and `aegis_spec.Normalize`/`aegis_spec.Residual` importable "
                           "(bench/pytorch on sys.path)"),
        ("bad_labels.npy", "int64 [15] (the first 15 labels), to pair with inputs.npy (16 rows) for a label-count mismatch test"),
    ]
    lines = [
        "# PyTorch import fixtures",
        "",
        "Generated by `bench/pytorch/import_fixtures.py`; do not edit by hand. Regenerate with",
        "",
        "```",
        "python3 bench/pytorch/import_fixtures.py --out tests/fixtures/torch_import",
        "```",
        "",
        f"Made with torch {torch.__version__}, numpy {np.__version__}, safetensors {safetensors.__version__} "
        f"(CPU, python {sys.version.split()[0]}). Deterministic: `torch.manual_seed(0)`, numpy `default_rng(0)`.",
        "",
        "The model is one top-level `nn.Sequential` on `[3, 16, 16]` inputs (layer list in the script); its",
        "indices are the state_dict prefixes (`1.weight`, `4.body.0.weight`, `6.projection.1.running_mean`).",
        "Every BatchNorm has weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), running_mean ~ N(0, 0.2),",
        "running_var ~ U(0.5, 2.0); LayerNorm weight ~ U(0.5, 1.5), bias ~ N(0, 0.1). Conv weights are",
        f"scaled by {CONV_GAIN:g} and Linear weights by {LINEAR_GAIN:g} after the default init so the logits depend",
        "on every layer well above the 1e-5 tolerance (see `make_model`). Model in eval mode.",
        "model.pt and model.safetensors both reproduce logits.npy bit for bit in PyTorch; the same",
        f"forward pass in float64 differs from logits.npy by at most {roundoff:.1e} (float32 round-off).",
        f"labels.npy: {labels.tolist()}.",
        "",
        "Check an Aegis export (same names as the state_dict) against logits.npy (exit 1 if max |diff| > 1e-5):",
        "",
        "```",
        "python3 bench/pytorch/import_fixtures.py --check-export FILE.safetensors",
        "```",
        "",
        "| file | bytes | what |",
        "|---|---|---|",
    ]
    for name, what in files:
        lines.append(f"| `{name}` | {(out / name).stat().st_size} | {what} |")
    lines += ["", "## state_dict", "", "| name | dtype | shape |", "|---|---|---|"]
    for k, t in sd.items():
        lines.append(f"| `{k}` | {str(t.dtype).replace('torch.', '')} | {list(t.shape)} |")
    lines += ["", "## SHA-256", "", "```"]
    for name, _ in files:
        lines.append(f"{sha256(out / name)}  {name}")
    lines += ["```", ""]
    (out / "README.md").write_text("\n".join(lines))


def check_export(path, out):
    try:
        tensors = safetensors.torch.load_file(str(path))
        model = load_state_dict_converted(build_model().eval(), tensors)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"{path}: cannot load into the reference model: {e}")
        return 1
    inputs = np.load(out / "inputs.npy")
    reference = np.load(out / "logits.npy")
    got = run(model, inputs)
    diff = float(np.abs(got - reference).max())
    same = bool((got.argmax(1) == reference.argmax(1)).all())
    print(f"max abs diff to {out / 'logits.npy'}: {diff:.3e} (tolerance {TOLERANCE:g}); argmax identical: {same}")
    return 0 if diff <= TOLERANCE else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"fixtures folder (default {DEFAULT_OUT}, relative to the repo root)")
    ap.add_argument("--check-export", metavar="FILE.safetensors", help="check an Aegis export against logits.npy")
    a = ap.parse_args()
    out = resolve(a.out)
    torch.set_num_threads(1)
    if a.check_export:
        sys.exit(check_export(Path(a.check_export), out))
    generate(out)


if __name__ == "__main__":
    main()
