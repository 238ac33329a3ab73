"""Reference margin bounds from auto_LiRPA for `crates/adversarial-trainer/tests/bounds_reference.rs`.

    pip install --no-deps auto_LiRPA==0.3 && pip install appdirs tqdm
    python3 bench/pytorch/bounds_reference.py \
        --out crates/adversarial-trainer/tests/fixtures/bounds_reference.json

Four small networks with fixed seeded weights (an MLP, a CNN with a strided convolution, a
residual network with batch norm and average pooling, a CNN with 2×2 max-pools), eight rows of uniform inputs each,
their labels the model's predictions. For each ε the L∞ ball is clipped to the domain [0, 1]
and auto_LiRPA's `compute_bounds(C=..., method="IBP" | "CROWN-IBP" | "CROWN")` bounds the margins
z_y − z_j (C: one row e_y − e_j per j ≠ y), in float64 on weights and inputs that are float32
values. The fixture holds each model's Aegis spec (`aegis_spec.model_spec`), its parameters in
Aegis leaf order, the inputs, labels, ε, the bounds and the versions that produced them.

auto_LiRPA 0.3 is the release on PyPI; it predates torch 2 and numpy 2, so `patch()` below
restores what it expects of them (numpy's `arraysetops.isin`, torch.onnx's
`_set_opset_version`, subscripting a TorchScript node, the `remove_duplicate` argument torch
now passes to `_named_members`); nothing about the bounds is changed.
"""
import argparse
import json
import os
import sys
import types
from importlib import metadata

import numpy
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from aegis_spec import Residual, model_spec  # noqa: E402


def patch():
    sys.modules.setdefault("numpy.lib.arraysetops", types.SimpleNamespace(isin=numpy.isin))
    import torch.onnx.symbolic_helper as helper
    from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

    if not hasattr(helper, "_set_opset_version"):
        helper._set_opset_version = lambda v: setattr(GLOBALS, "export_onnx_opset_version", v)
    if not hasattr(torch._C.Node, "__getitem__"):
        torch._C.Node.__getitem__ = lambda self, k: getattr(self, self.kindOf(k))(k)
    from auto_LiRPA import bound_general

    members = bound_general.BoundedModule._named_members

    def named_members(self, get_members_fn, prefix="", recurse=True, remove_duplicate=True):
        return members(self, get_members_fn, prefix, recurse)

    bound_general.BoundedModule._named_members = named_members


def mlp():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 4)
    ), [6]


def cnn():
    torch.manual_seed(2)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(36, 10), nn.ReLU(), nn.Linear(10, 4),
    ), [1, 6, 6]


def pooled():
    torch.manual_seed(4)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16, 4),
    ), [1, 8, 8]


def resnet():
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        Residual([nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                  nn.Conv2d(4, 4, 3, padding=1)]),
        nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(36, 4),
    )
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.empty(n).uniform_(-1.5, 1.5)
            m.bias.data = torch.empty(n).uniform_(-0.5, 0.5)
            m.running_mean = torch.empty(n).uniform_(-0.3, 0.3)
            m.running_var = torch.empty(n).uniform_(0.2, 2.0)
    return model, [1, 6, 6]


def leaves(model):
    """Parametric layers in Aegis leaf order (a residual block: body, then projection)."""
    out = []
    for m in model:
        subs = list(m.body) + (list(m.projection) if m.projection is not None else []) \
            if isinstance(m, Residual) else [m]
        for s in subs:
            if isinstance(s, (nn.Linear, nn.Conv2d)):
                out.append({"weight": s.weight.flatten().tolist(), "bias": s.bias.tolist()})
            elif isinstance(s, nn.BatchNorm2d):
                out.append({"weight": s.weight.tolist(), "bias": s.bias.tolist(),
                            "running_mean": s.running_mean.tolist(),
                            "running_var": s.running_var.tolist()})
    return out


def bounds(model, x, labels, eps, method, classes):
    from auto_LiRPA import BoundedModule, BoundedTensor
    from auto_LiRPA.perturbations import PerturbationLpNorm

    lirpa = BoundedModule(model, torch.zeros_like(x[:1]), device="cpu")
    lo, hi = (x - eps).clamp(min=0.0), (x + eps).clamp(max=1.0)
    ball = BoundedTensor(x, PerturbationLpNorm(norm=float("inf"), x_L=lo, x_U=hi))
    others = [[j for j in range(classes) if j != y] for y in labels]
    c = torch.zeros(len(labels), classes - 1, classes, dtype=x.dtype)
    for i, y in enumerate(labels):
        for k, j in enumerate(others[i]):
            c[i, k, y], c[i, k, j] = 1.0, -1.0
    low, _ = lirpa.compute_bounds(x=(ball,), C=c, method=method, bound_upper=False)
    rows = []
    for i, y in enumerate(labels):
        row = [None] * classes
        for k, j in enumerate(others[i]):
            row[j] = float(low[i, k])
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    patch()
    torch.set_default_dtype(torch.float64)
    cases = []
    for name, build in [("mlp", mlp), ("cnn", cnn), ("resnet", resnet), ("maxpool", pooled)]:
        model, shape = build()
        model = model.float().eval()
        spec = model_spec(model, shape)
        params = leaves(model)
        torch.manual_seed(10)
        x = torch.rand(8, *shape)  # float32 values
        model = model.double()
        x = x.double()
        with torch.no_grad():
            logits = model(x)
        classes = logits.shape[1]
        labels = logits.argmax(1).tolist()
        case = {"name": name, "spec": spec, "params": params, "labels": labels,
                "x": x.flatten().tolist(), "bounds": []}
        # auto_LiRPA 0.3's intermediate bounds after a max-pool are looser than its own CROWN
        # on that layer (compute_bounds on the network cut there), so the max-pool network is
        # compared with IBP intermediate bounds only.
        methods = ["IBP", "CROWN-IBP"] + (["CROWN"] if name != "maxpool" else [])
        for eps in [0.0, 0.02, 0.1]:
            for method in methods:
                case["bounds"].append({"eps": eps, "method": method.lower(),
                                       "margin_lower": bounds(model, x, labels, eps, method,
                                                              classes)})
        cases.append(case)
    out = {
        "produced_by": "bench/pytorch/bounds_reference.py",
        "versions": {"auto_LiRPA": metadata.version("auto_LiRPA"), "torch": torch.__version__,
                     "numpy": numpy.__version__, "python": sys.version.split()[0]},
        "domain": [0.0, 1.0],
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
