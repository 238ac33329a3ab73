"""The real-size models of `cargo xtask bench --tasks real-size --with-pytorch` (issue 28), for
the PyTorch worker (`worker.py`'s `realsize` command).

Two networks on CIFAR-size inputs `[3, 32, 32]`, each one `nn.Sequential` built from
`aegis_spec`'s modules, so that the same object gives the Aegis spec (`arch.json`), the weights
(`model.safetensors`) and the graph (`model.onnx`, torch's default dynamo exporter, opset 20,
dynamic batch, weights embedded):

- `resnet18`: ResNet-18 in the CIFAR layout (3x3 stem, no max-pool; widths 64..512, two basic
  blocks per stage, 1x1 projection shortcuts), 11.2 M parameters, as `load_bench.py` builds it;
- `wrn16_4`: WideResNet-16-4 in RobustBench's layout (Zagoruyko & Komodakis 2016 as RobustBench's
  `WideResNet`: pre-activation blocks, BatchNorm and ReLU before each 3x3 conv; where the width
  or stride changes, the 1x1 shortcut starts after the block's first BatchNorm-ReLU), 2.7 M
  parameters.

The weights are random (`torch.manual_seed(seed)`), the BatchNorm running statistics too (so
inference-mode BatchNorm is not the identity): speed does not depend on training. The rows
are uniform in [0, 1] with uniform random labels over 10 classes.
"""
import contextlib
import io
import json
import os
import warnings

import numpy as np
import torch
import torch.nn as nn

from aegis_spec import Normalize, Residual, write_spec
from load_bench import build as resnet18_layers

CLASSES = 10
SHAPE = [3, 32, 32]


def wrn16_4():
    """WideResNet-16-4, RobustBench's layout, as one nn.Sequential."""
    depth, k = 16, 4
    n = (depth - 4) // 6
    widths = [16, 16 * k, 32 * k, 64 * k]
    layers = [Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
              nn.Conv2d(3, widths[0], 3, padding=1, bias=False)]
    cin = widths[0]
    for stage, cout in enumerate(widths[1:]):
        for i in range(n):
            stride = 2 if (stage > 0 and i == 0) else 1
            conv2 = [nn.Conv2d(cout, cout, 3, padding=1, bias=False)]
            if cin == cout and stride == 1:
                body = [nn.BatchNorm2d(cin), nn.ReLU(),
                        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                        nn.BatchNorm2d(cout), nn.ReLU()] + conv2
                layers.append(Residual(body))
            else:
                layers += [nn.BatchNorm2d(cin), nn.ReLU()]
                body = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                        nn.BatchNorm2d(cout), nn.ReLU()] + conv2
                layers.append(Residual(body, [nn.Conv2d(cin, cout, 1, stride=stride, bias=False)]))
            cin = cout
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(cin, CLASSES)]
    return nn.Sequential(*layers)


ARCHS = {"resnet18": resnet18_layers, "wrn16_4": wrn16_4}


class Flat(nn.Module):
    """The model on flat `[N, 3072]` rows, as Aegis's `Classifier` takes them."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.view(-1, *SHAPE))


def build(arch):
    """A fresh `Flat` model of `arch` (random weights from torch's current generator)."""
    return Flat(ARCHS[arch]())


def randomize_batchnorm(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) * 0.5 + 0.75)


def export_onnx(net, path):
    """torch.onnx.export(..., dynamo=True), opset 20, dynamic batch, weights embedded."""
    x = torch.rand(2, *SHAPE)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), path, dynamo=True, opset_version=20, external_data=False,
                          dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)


def make(out, arch, rows, seed):
    """Writes `arch.json`, `model.safetensors`, `model.onnx`, `x.f32` (`[rows, 3072]`) and `y.i64`
    to `out`; returns the model (eval mode, flat input), the rows and a description."""
    from safetensors.torch import save_file
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(seed)
    net = ARCHS[arch]()
    with torch.no_grad():
        randomize_batchnorm(net, torch.Generator().manual_seed(seed))
    net.eval()
    write_spec(os.path.join(out, "arch.json"), net, SHAPE)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()},
              os.path.join(out, "model.safetensors"))
    export_onnx(net, os.path.join(out, "model.onnx"))
    rng = np.random.default_rng(seed)
    x = rng.random((rows, int(np.prod(SHAPE))), dtype=np.float32)
    y = rng.integers(0, CLASSES, rows).astype(np.int64)
    x.astype("<f4").tofile(os.path.join(out, "x.f32"))
    y.astype("<i8").tofile(os.path.join(out, "y.i64"))
    params = sum(p.numel() for p in net.parameters())
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump({"arch": arch, "parameters": params, "rows": rows, "seed": seed,
                   "torch": torch.__version__}, f, indent=2)
    return Flat(net).eval(), torch.from_numpy(x), torch.from_numpy(y), params
