"""Fixtures for the Rust tests of run-time ONNX import (`aegis-model import --onnx`, issue 24).

Each model is exported by torch's default ONNX exporter (`torch.onnx.export(..., dynamo=True)`,
opset 20) and its reference logits and input gradients are computed by running the PyTorch
model itself (not an ONNX runtime). The committed fixtures in tests/fixtures/onnx/ were produced
with torch 2.15.0+cu132 (run on CPU), onnx 1.23.2, onnxscript 0.7.2 and numpy 2.4.6; the exact
versions are also recorded in that folder's README.md. Regenerate them (deterministic:
torch.manual_seed(0), numpy default_rng(0)) with

    python3 bench/pytorch/onnx_fixtures.py [--out tests/fixtures/onnx]

A relative --out is resolved against the repository root, so this works from any folder.

Models (all small, eval mode, BatchNorm/LayerNorm values randomised away from the identity):
mlp, resnet18_cifar (Kuang Liu layout), resnet18_tv (torchvision layout, built by hand),
preact_resnet18 and wrn (RobustBench layouts: BatchNorm before the conv, so it stays a
BatchNormalization node instead of being folded into the conv), vit (timm-style, pre-norm),
adaptive_pool (AdaptiveAvgPool2d((3, 3)) on an 11x11 map: the exporter writes a gather for it).
All are exported with a dynamic batch dimension (`dynamic_shapes`); `static_batch/` holds one
model exported without it (batch 4 baked into its Reshape), as the bare default call does.
Plus `external/` (weights in an external data file) and `bad/` (files an importer must refuse).

Per model folder: model.onnx, inputs.npy, logits.npy, grads.npy, ops.txt; see the README.
"""
import argparse
import collections
import contextlib
import copy
import hashlib
import io
import logging
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnx.reference
import onnxscript
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OUT = "tests/fixtures/onnx"
BATCH = 4
LOGIT_BAR = 1e-4  # max |ONNX - torch| the Rust importer must meet
GRAD_BAR = 1e-3  # relative L2 error of the input gradient the Rust importer must meet
OPSET = 20
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2471, 0.2435, 0.2616]


# ---------------------------------------------------------------- models


def mlp():
    return nn.Sequential(
        nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(32, 16), nn.GELU(), nn.Dropout(0.1),
        nn.Linear(16, 3),
    )


class CifarBlock(nn.Module):
    """ResNet BasicBlock, Kuang Liu's pytorch-cifar layout (conv -> BN -> ReLU)."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18Cifar(nn.Module):
    """ResNet-18 for [3, 32, 32]: 3x3 stem, no max-pool, projection shortcuts, avg_pool2d(4)."""

    def __init__(self, width=4, num_classes=10):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = nn.Conv2d(3, w[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        cin, layers = w[0], []
        for i, planes in enumerate(w):
            blocks = []
            for stride in [1 if i == 0 else 2, 1]:
                blocks.append(CifarBlock(cin, planes, stride))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(w[3], num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        return self.linear(out)


class TvBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock (same attribute names, so the same state_dict keys)."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18Tv(nn.Module):
    """torchvision.models.resnet18 layout, written out (torchvision is not installed): 7x7
    stride-2 stem, 3x3 stride-2 max-pool, AdaptiveAvgPool2d((1, 1)), flatten, fc."""

    def __init__(self, width=4, num_classes=10):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin, layers = w[0], []
        for i, planes in enumerate(w):
            blocks = []
            for stride in [1 if i == 0 else 2, 1]:
                blocks.append(TvBlock(cin, planes, stride))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w[3], num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class PreActBlock(nn.Module):
    """RobustBench / Madry-lab PreActBlock: BN -> ReLU -> conv; the projection shortcut takes
    the pre-activated input."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """robustbench.model_zoo.architectures.resnet.PreActResNet (PreActBlock, [2, 2, 2, 2]),
    narrowed; final BN -> ReLU -> avg_pool2d(4) -> linear."""

    def __init__(self, width=4, num_classes=10):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = nn.Conv2d(3, w[0], 3, 1, 1, bias=False)
        cin, layers = w[0], []
        for i, planes in enumerate(w):
            blocks = []
            for stride in [1 if i == 0 else 2, 1]:
                blocks.append(PreActBlock(cin, planes, stride))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.bn = nn.BatchNorm2d(w[3])
        self.linear = nn.Linear(w[3], num_classes)

    def forward(self, x):
        out = self.conv1(x)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.relu(self.bn(out))
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        return self.linear(out)


class WrnBlock(nn.Module):
    """robustbench.model_zoo.architectures.wide_resnet.BasicBlock (dropRate 0)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.equalInOut = cin == cout
        self.convShortcut = None if self.equalInOut else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
            out = x
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out)))
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class WideResNet(nn.Module):
    """robustbench.model_zoo.architectures.wide_resnet.WideResNet (depth 10, widen_factor 1:
    one block per group, channels [16, 16, 32, 64]) behind the CIFAR-10 mean/std normalisation
    that RobustBench's DMWideResNet applies first ((x - mean) / std with constant tensors)."""

    def __init__(self, depth=10, widen_factor=1, num_classes=10):
        super().__init__()
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        n = (depth - 4) // 6
        self.mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        self.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
        self.block1 = nn.Sequential(*[WrnBlock(ch[0] if i == 0 else ch[1], ch[1], 1) for i in range(n)])
        self.block2 = nn.Sequential(*[WrnBlock(ch[1] if i == 0 else ch[2], ch[2], 2 if i == 0 else 1) for i in range(n)])
        self.block3 = nn.Sequential(*[WrnBlock(ch[2] if i == 0 else ch[3], ch[3], 2 if i == 0 else 1) for i in range(n)])
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(ch[3], num_classes)
        self.nChannels = ch[3]

    def forward(self, x):
        out = (x - self.mean.to(x)) / self.std.to(x)
        out = self.conv1(out)
        out = self.block3(self.block2(self.block1(out)))
        out = self.relu(self.bn1(out))
        out = F.avg_pool2d(out, 8)
        out = out.view(-1, self.nChannels)
        return self.fc(out)


class Attention(nn.Module):
    """timm.models.vision_transformer.Attention: fused qkv Linear, scaled_dot_product_attention."""

    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    """Pre-norm encoder block: x + attn(norm1(x)), then x + mlp(norm2(x)) with an exact GELU."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Small timm-style ViT: 4x4 patch-embedding conv, class token, learned positional
    embedding, pre-norm blocks, final LayerNorm, head on the class token."""

    def __init__(self, image=32, patch=4, dim=32, depth=2, heads=2, hidden=64, num_classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # [B, N, dim]
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.blocks(x + self.pos_embed)
        return self.head(self.norm(x)[:, 0])


def adaptive_pool():
    """Conv stride 2 on [3, 22, 22] -> [8, 11, 11], AdaptiveAvgPool2d((3, 3)), flatten, Linear.
    3 does not divide 11: the windows [0, 4), [3, 8), [7, 11) overlap and have unequal sizes, so
    no fixed-kernel AvgPool equals them (on 10x10 they would be [0, 4), [3, 7), [6, 10), which
    AvgPool2d(4, 3) reproduces)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d((3, 3)), nn.Flatten(), nn.Linear(72, 5),
    )


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 3)

    def forward(self, x, y):
        return self.a(x) + self.b(y)


# name -> (constructor, input shape, what); the gains scale conv / linear weights after init.
MODELS = {
    "mlp": (mlp, [20], "Linear 20->32, ReLU, Dropout, Linear 32->16, GELU, Dropout, Linear 16->3"),
    "resnet18_cifar": (ResNet18Cifar, [3, 32, 32], "ResNet-18, CIFAR layout (3x3 stem, no max-pool, projection shortcuts, avg_pool2d(4)), widths 4/8/16/32"),
    "resnet18_tv": (ResNet18Tv, [3, 64, 64], "ResNet-18, torchvision layout (7x7 stride-2 stem, max-pool, AdaptiveAvgPool2d((1, 1)), flatten), widths 4/8/16/32"),
    "preact_resnet18": (PreActResNet18, [3, 32, 32], "PreActResNet-18, RobustBench layout (BN -> ReLU -> conv), widths 4/8/16/32"),
    "wrn": (WideResNet, [3, 32, 32], "WideResNet-10-1, RobustBench layout (BN -> ReLU -> conv), behind CIFAR-10 mean/std normalisation"),
    "vit": (ViT, [3, 32, 32], "ViT, timm layout: patch 4 conv, class token, positional embedding, dim 32, 2 pre-norm blocks, 2 heads, MLP 64 with exact GELU"),
    "adaptive_pool": (adaptive_pool, [3, 22, 22], "conv stride 2 -> [8, 11, 11], BN, ReLU, AdaptiveAvgPool2d((3, 3)) (windows [0, 4), [3, 8), [7, 11) per axis: overlapping, unequal), flatten, Linear 72->5"),
}
GAINS = {  # (conv, linear) weight multipliers after the default init; see make_model
    "mlp": (1.0, 3.0),
    "resnet18_cifar": (2.5, 1.0),
    "resnet18_tv": (2.5, 1.0),
    "preact_resnet18": (2.5, 3.0),
    "wrn": (2.0, 3.0),
    "vit": (1.0, 3.0),
    "adaptive_pool": (2.5, 6.0),
}

def randomise(model, conv_gain=1.0, linear_gain=1.0):
    """BatchNorm/LayerNorm values away from the identity (as import_fixtures.py), ViT tokens
    non-trivial, conv/linear weights scaled."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(conv_gain)
            elif isinstance(m, nn.Linear):
                m.weight.mul_(linear_gain)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
            elif isinstance(m, ViT):
                m.cls_token.normal_(0.0, 0.5)
                m.pos_embed.normal_(0.0, 0.5)
    return model


def make_model(name):
    torch.manual_seed(0)
    model = MODELS[name][0]()
    return randomise(model, *GAINS[name]).eval()


# ---------------------------------------------------------------- helpers


def resolve(p):
    p = Path(p)
    return p if p.is_absolute() else REPO / p


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_inputs(shape):
    rng = np.random.default_rng(0)
    if len(shape) == 1:  # feature vectors: standard normal
        return rng.standard_normal(size=[BATCH] + shape).astype(np.float32)
    return rng.uniform(0.0, 1.0, size=[BATCH] + shape).astype(np.float32)  # images in [0, 1)


def logits_and_grads(model, inputs):
    """logits under no_grad, and d/dx sum_i log_softmax(model(x))[i, y_i] with y = argmax."""
    with torch.no_grad():
        logits = model(torch.from_numpy(inputs)).numpy().astype(np.float32)
    x = torch.from_numpy(inputs.copy()).requires_grad_(True)
    y = torch.from_numpy(logits.argmax(axis=1))
    objective = F.log_softmax(model(x), dim=1).gather(1, y[:, None]).sum()
    (grad,) = torch.autograd.grad(objective, x)
    return logits, grad.numpy().astype(np.float32)


def export(model, args, path, dynamic=True, optimize=True):
    """torch.onnx.export(..., dynamo=True) with (by default) a dynamic batch dimension, weights
    embedded (external_data=False; the exporter's default, True, writes them to path + ".data"),
    then every node's metadata_props cleared. Those are debugging notes (stack traces with
    absolute paths of this machine's python and repository, FX node text, module class names that
    read `__main__.X` or `onnx_fixtures.X` depending on how the script is run), so they would
    change the bytes from one checkout to the next, and they were ~240 KB of the set. Nothing
    else is changed."""
    kw = {}
    if dynamic:
        kw["dynamic_shapes"] = tuple({0: torch.export.Dim("batch")} for _ in args)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), dynamo=True, opset_version=OPSET, external_data=False,
                          verbose=False, optimize=optimize, **kw)
    m = onnx.load(str(path))
    assert not any(t.data_location == TensorProto.EXTERNAL for t in m.graph.initializer)
    for n in m.graph.node:
        del n.metadata_props[:]
    Path(path).write_bytes(m.SerializeToString(deterministic=True))
    os.chmod(path, 0o644)


def op_counts(model_proto):
    counts = collections.Counter()
    for n in model_proto.graph.node:
        counts[(n.domain + "::" if n.domain else "") + n.op_type] += 1
    return dict(sorted(counts.items()))


def onnx_reference(path, inputs):
    """Runs the file with onnx.reference (onnx's pure-python evaluator) as a self-check."""
    m = onnx.load(str(path))
    sess = onnx.reference.ReferenceEvaluator(m)
    return sess.run(None, {m.graph.input[0].name: inputs})[0]


def min_effect(model, inputs):
    """Smallest max |logit change| over scaling one weight tensor (every parameter except the
    conv/linear/BN/LN biases) by 1.01; the tensor that gives it."""
    x = torch.from_numpy(inputs)
    worst = (float("inf"), None)
    with torch.no_grad():
        base = model(x)
        for name, p in model.named_parameters():
            if p.dim() < 2 and not name.endswith("weight"):
                continue
            old = p.clone()
            p.mul_(1.01)
            worst = min(worst, (float((model(x) - base).abs().max()), name))
            p.copy_(old)
    return worst


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- generation


def generate_model(out, name, dynamic=True, folder=None, optimize=True):
    """Writes model.onnx, inputs.npy, logits.npy, grads.npy, ops.txt; returns the facts for the README."""
    d = out / (folder or name)
    d.mkdir(parents=True, exist_ok=True)
    model = make_model(name)
    shape = MODELS[name][1]
    inputs = make_inputs(shape)
    logits, grads = logits_and_grads(model, inputs)
    export(model, (torch.from_numpy(inputs),), d / "model.onnx", dynamic=dynamic, optimize=optimize)
    proto = onnx.load(str(d / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert len(proto.graph.input) == 1 and not proto.functions, f"{name}: unexpected graph interface"
    ops = op_counts(proto)
    np.save(d / "inputs.npy", inputs)
    np.save(d / "logits.npy", logits)
    np.save(d / "grads.npy", grads)
    (d / "ops.txt").write_text("".join(f"{op} {c}\n" for op, c in ops.items()))
    ref = onnx_reference(d / "model.onnx", inputs)
    ref_diff = float(np.abs(ref - logits).max())
    assert ref_diff < LOGIT_BAR / 10, f"{name}: onnx.reference differs from torch by {ref_diff}"
    with torch.no_grad():
        f64 = copy.deepcopy(model).double()(torch.from_numpy(inputs).double()).numpy()
    roundoff = float(np.abs(f64 - logits).max())
    effect, effect_at = min_effect(model, inputs)
    assert effect > 10 * LOGIT_BAR, f"{name}: scaling {effect_at} by 1.01 moves the logits by only {effect}"
    opset = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")][0]
    return dict(name=folder or name, shape=shape, classes=logits.shape[1], params=param_count(model),
                bytes=(d / "model.onnx").stat().st_size, ops=ops, ref_diff=ref_diff, roundoff=roundoff,
                opset=opset, labels=logits.argmax(1).tolist(), what=MODELS[name][2],
                effect=effect, effect_at=effect_at, gains=GAINS[name], dynamic=dynamic)


def generate_external(out, tmp):
    """mlp exported, then re-saved with every initializer in external/model.onnx.data."""
    d = out / "external"
    d.mkdir(parents=True, exist_ok=True)
    model = make_model("mlp")
    inputs = make_inputs(MODELS["mlp"][1])
    logits, grads = logits_and_grads(model, inputs)
    export(model, (torch.from_numpy(inputs),), tmp / "mlp.onnx")
    proto = onnx.load(str(tmp / "mlp.onnx"))
    data = d / "model.onnx.data"
    if data.exists():
        data.unlink()  # onnx appends to an existing data file
    onnx.save_model(proto, str(d / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)
    onnx.checker.check_model(str(d / "model.onnx"), full_check=True)
    np.save(d / "inputs.npy", inputs)
    np.save(d / "logits.npy", logits)
    np.save(d / "grads.npy", grads)
    ref_diff = float(np.abs(onnx_reference(d / "model.onnx", inputs) - logits).max())
    assert ref_diff < LOGIT_BAR / 10
    n_ext = sum(1 for t in onnx.load(str(d / "model.onnx"), load_external_data=False).graph.initializer
                if t.data_location == TensorProto.EXTERNAL)
    return n_ext


def generate_bad(out):
    d = out / "bad"
    d.mkdir(parents=True, exist_ok=True)
    facts = {}

    # truncated.onnx: the first half of mlp/model.onnx.
    good = (out / "mlp" / "model.onnx").read_bytes()
    (d / "truncated.onnx").write_bytes(good[: len(good) // 2])
    try:
        onnx.load_from_string(good[: len(good) // 2])
        raise AssertionError("truncated.onnx parses")
    except onnx.onnx_cpp2py_export.checker.ValidationError:
        raise
    except Exception as e:  # noqa: BLE001 - expected: protobuf DecodeError
        if isinstance(e, AssertionError):
            raise
        facts["truncated"] = f"{len(good) // 2} of {len(good)} bytes; onnx.load raises {type(e).__name__}"

    # not_onnx.onnx: plain text.
    (d / "not_onnx.onnx").write_text("This is not an ONNX model; it is a text file named .onnx.\n")

    # escape.onnx: external/model.onnx with every external-data location rewritten to ../../x.data.
    m = onnx.load(str(out / "external" / "model.onnx"), load_external_data=False)
    n = 0
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../../x.data"
                n += 1
    assert n > 0
    (d / "escape.onnx").write_bytes(m.SerializeToString(deterministic=True))
    facts["escape"] = n

    # unsupported.onnx: x [batch, 8] -> Unsqueeze -> DFT (opset 20, real one-sided) -> Flatten -> Gemm.
    rng = np.random.default_rng(0)
    w = helper.make_tensor("fc.weight", TensorProto.FLOAT, [3, 10], rng.standard_normal(30).astype(np.float32).tolist())
    b = helper.make_tensor("fc.bias", TensorProto.FLOAT, [3], [0.1, -0.2, 0.3])
    axes = helper.make_tensor("unsqueeze_axes", TensorProto.INT64, [1], [-1])
    axis = helper.make_tensor("dft_axis", TensorProto.INT64, [], [1])
    nodes = [
        helper.make_node("Unsqueeze", ["x", "unsqueeze_axes"], ["x_real"], name="unsqueeze"),
        helper.make_node("DFT", ["x_real", "", "dft_axis"], ["spectrum"], name="spectrum_dft", onesided=1),
        helper.make_node("Flatten", ["spectrum"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "unsupported_dft",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
                          initializer=[w, b, axes, axis])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx_fixtures.py")
    m.ir_version = 10
    onnx.checker.check_model(m, full_check=True)
    (d / "unsupported.onnx").write_bytes(m.SerializeToString(deterministic=True))
    x = make_inputs([8])
    ref = onnx.reference.ReferenceEvaluator(m).run(None, {"x": x})[0]
    assert ref.shape == (BATCH, 3)

    # two_inputs.onnx: forward(x, y) = Linear(x) + Linear(y), both float [batch, 4], dynamo export.
    torch.manual_seed(0)
    two = TwoInputs().eval()
    export(two, (torch.zeros(BATCH, 4), torch.zeros(BATCH, 4)), d / "two_inputs.onnx")
    m = onnx.load(str(d / "two_inputs.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert [i.type.tensor_type.elem_type for i in m.graph.input] == [TensorProto.FLOAT] * 2
    facts["two_inputs"] = [i.name for i in m.graph.input]

    # missing_initializer.onnx: mlp/model.onnx with the initializer of the first Gemm's weight removed.
    m = onnx.load(str(out / "mlp" / "model.onnx"))
    first = next(n for n in m.graph.node if n.op_type == "Gemm")
    victim = first.input[1]
    kept = [t for t in m.graph.initializer if t.name != victim]
    assert len(kept) == len(m.graph.initializer) - 1
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    (d / "missing_initializer.onnx").write_bytes(m.SerializeToString(deterministic=True))
    facts["missing_initializer"] = (victim, first.name)

    # cycle.onnx: Add(x, r) -> a, Relu(a) -> r; output r. Nodes a and r depend on each other.
    nodes = [
        helper.make_node("Add", ["x", "r"], ["a"], name="add_cycle"),
        helper.make_node("Relu", ["a"], ["r"], name="relu_cycle"),
    ]
    g = helper.make_graph(nodes, "cycle",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("r", TensorProto.FLOAT, ["batch", 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx_fixtures.py")
    m.ir_version = 10
    (d / "cycle.onnx").write_bytes(m.SerializeToString(deterministic=True))
    for p in d.iterdir():
        os.chmod(p, 0o644)
    return facts


def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".tmp"
    tmp.mkdir(exist_ok=True)
    try:
        facts = [generate_model(out, name) for name in MODELS]
        static = generate_model(out, "adaptive_pool", dynamic=False, folder="static_batch")
        unoptimized = generate_model(out, "resnet18_cifar", folder="unoptimized", optimize=False)
        assert "BatchNormalization" in unoptimized["ops"], "optimize=False keeps the batch norm"
        n_ext = generate_external(out, tmp)
        bad = generate_bad(out)
    finally:
        shutil.rmtree(tmp)
    for p in out.rglob("*"):
        if p.is_file():
            os.chmod(p, 0o644)
    write_readme(out, facts, static, unoptimized, n_ext, bad)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    for f in facts + [static, unoptimized]:
        print(f"{f['name']:16s} {f['bytes']:7d} bytes  {f['params']:6d} params  onnx.reference vs torch "
              f"{f['ref_diff']:.1e}  labels {f['labels']}  ops {' '.join(f['ops'])}")
    print(f"wrote {out}: {total} bytes in all; torch {torch.__version__}, onnx {onnx.__version__}, "
          f"onnxscript {onnxscript.__version__}")
    assert total < 3_000_000


def write_readme(out, facts, static, unoptimized, n_ext, bad):
    cmd = "python3 bench/pytorch/onnx_fixtures.py --out tests/fixtures/onnx"
    lines = [
        "# ONNX import fixtures",
        "",
        "Generated by `bench/pytorch/onnx_fixtures.py`; do not edit by hand. Regenerate with",
        "",
        "```",
        cmd,
        "```",
        "",
        f"Made with torch {torch.__version__}, onnx {onnx.__version__}, onnxscript {onnxscript.__version__}, "
        f"numpy {np.__version__} (CPU, python {sys.version.split()[0]}). Deterministic: `torch.manual_seed(0)` "
        "before each model is built, numpy `default_rng(0)` for each model's inputs; running the script "
        "twice gives the same bytes in every file.",
        "",
        "Every model is exported by torch's default exporter, "
        f"`torch.onnx.export(model, (x,), path, dynamo=True, opset_version={OPSET}, external_data=False, "
        "dynamic_shapes=({0: Dim(\"batch\")},))`: one file, weights embedded as initializers, input "
        "`x` of shape `[batch, ...]` with a symbolic batch dimension. (With the default `external_data=True` "
        "the exporter writes every initializer to `model.onnx.data` next to the file, as in `external/`.) "
        "After export the script clears every node's `metadata_props` (the exporter's debugging notes: "
        "`pkg.torch.onnx.stack_trace` with absolute paths of the generating machine, `namespace`, "
        "`pkg.torch.onnx.fx_node`, `pkg.torch.onnx.class_hierarchy`, `pkg.torch.onnx.name_scopes`); "
        "the graph, value_info, initializers and model metadata are as exported.",
        "",
        "All models are in eval mode. Every BatchNorm has weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), "
        "running_mean ~ N(0, 0.2), running_var ~ U(0.5, 2.0); every LayerNorm weight ~ U(0.5, 1.5), "
        "bias ~ N(0, 0.1); the ViT class token and positional embedding ~ N(0, 0.5). Conv and Linear weights "
        "are scaled after PyTorch's default init by the 'gains' column (conv, linear) so that the logits depend on "
        "every layer: scaling any single weight tensor (conv, linear, BN/LN weight, ViT tokens) by 1.01 moves "
        "the logits by at least the 'min 1% effect' column, well above the 1e-4 bar. Without the gains the "
        "narrow ResNets' logits moved by only ~1e-6..1e-5 for some BN weights.",
        "",
        "Per model folder:",
        "",
        "| file | what |",
        "|---|---|",
        "| `model.onnx` | the exported model |",
        f"| `inputs.npy` | float32 [{BATCH}, ...input shape]: images uniform in [0, 1), the MLP's features "
        "standard normal (numpy `default_rng(0)`) |",
        "| `logits.npy` | float32 [4, classes] = model(inputs) in PyTorch, eval mode, under `torch.no_grad()` |",
        "| `grads.npy` | float32, shape of inputs.npy: the input gradient d/dx of "
        "`sum_i log_softmax(model(x))[i, y_i]` with `y = argmax(logits)` per row, i.e. the gradient of minus "
        "the summed cross-entropy at the predicted labels (so an attack that ascends the loss moves against it) |",
        "| `ops.txt` | the graph's node op types with counts, sorted (`onnx.load`; no nested graphs or functions) |",
        "",
        f"Bars for the Rust importer: logits within {LOGIT_BAR:g} (max absolute) of logits.npy, input gradients "
        f"within {GRAD_BAR:g} relative L2 error (`|g - grads| / |grads|`) of grads.npy. Self-checks made by the "
        "script: `onnx.checker.check_model(full_check=True)` passes on every good model, and "
        "`onnx.reference.ReferenceEvaluator` on model.onnx reproduces logits.npy to the 'onnx.reference' column; "
        "'float64' is the max difference of the same PyTorch forward pass in float64 (round-off scale).",
        "",
        "## Models",
        "",
        "| folder | input | classes | params | model.onnx bytes | gains | min 1% effect | onnx.reference | float64 | labels |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in facts + [static, unoptimized]:
        lines.append(f"| `{f['name']}` | {f['shape']} | {f['classes']} | {f['params']} | {f['bytes']} | "
                     f"{f['gains'][0]:g}, {f['gains'][1]:g} | {f['effect']:.1e} (`{f['effect_at']}`) | {f['ref_diff']:.1e} | {f['roundoff']:.1e} | {f['labels']} |")
    lines.append("")
    for f in facts:
        lines.append(f"- `{f['name']}`: {f['what']}. Ops (opset {f['opset']}): "
                     + ", ".join(f"{op} {c}" for op, c in f["ops"].items()) + ".")
    lines += [
        "- `static_batch`: the `adaptive_pool` model (same weights, inputs, logits, grads) exported by the bare "
        f"default call without `dynamic_shapes`: its input is `{[BATCH] + static['shape']}` and the batch size {BATCH} is baked into "
        "a Reshape's constant shape. Ops: " + ", ".join(f"{op} {c}" for op, c in static["ops"].items()) + ".",
        "- `unoptimized`: the `resnet18_cifar` model (same weights, inputs, logits, grads) exported with "
        "`optimize=False`, as exporters without onnxscript's optimizer write it: the exporter's optimizer folds "
        "every BatchNormalization that follows a Conv into the Conv's weights (no fixture above has one left), "
        "this file keeps it. Ops: " + ", ".join(f"{op} {c}" for op, c in unoptimized["ops"].items()) + ".",
        "",
        "What the exporter wrote (torch 2.15, opset 20), for the interpreter:",
        "",
        "- BatchNorm after a conv whose output feeds nothing else is folded into that conv (a bias initializer "
        "`<conv>.weight_bias` appears): all BNs of `resnet18_cifar`/`resnet18_tv`, and `bn2` of every PreAct/WRN block. "
        "BNs on a block input (RobustBench's BN -> ReLU -> conv) stay `BatchNormalization` nodes (5 inputs, "
        "attributes epsilon 1e-5, momentum 0.9, no training_mode): 9 in `preact_resnet18`, 4 in `wrn`.",
        "- Linear on a 2-D input is `Gemm` (transB=1, named weight); on the ViT's 3-D tokens it is `MatMul` with a "
        "pre-transposed weight under an anonymous initializer name (`val_13`, [32, 96]) plus `Add` of the named bias.",
        "- flatten / view / reshape are `Reshape` with a constant shape such as `[-1, 32]` and `allowzero=1` (no "
        "`Flatten` node); ViT's `flatten(2)` is `Reshape [-1, 32, 64]`. Dropout is dropped.",
        "- GELU is the opset-20 `Gelu` op (approximate=\"none\"); LayerNorm is `LayerNormalization` (axis -1, "
        "epsilon 1e-6 as float32, stash_type 1).",
        "- `F.avg_pool2d(x, k)` is `AveragePool` (count_include_pad=1); `AdaptiveAvgPool2d((1, 1))` is `ReduceMean` "
        "(axes [-1, -2] as an input, keepdims 1), not GlobalAveragePool. `AdaptiveAvgPool2d((3, 3))` on 11x11 is "
        "Transpose -> `GatherND` with a constant int64 [3, 5, 3, 5, 2] index (every window padded to 5 slots) -> "
        "Transpose -> two `Where` with constant masks (zero the padding) -> 30 `Gather` (scalar index) and 24 `Add` "
        "summing the 25 slots -> `Div` by the constant window sizes [3, 3]. (On 10x10, where the windows are equal, "
        "it is GatherND + ReduceMean.)",
        "- `scaled_dot_product_attention` is decomposed: q and k each `Mul` by 0.5 (= head_dim^-1/4), k transposed "
        "through Shape -> Slice x3 -> Concat -> Reshape -> Transpose -> Concat -> Reshape (shapes read at run time, "
        "Slice ends INT64_MAX, INT64_MIN), MatMul, `Softmax` (axis -1), MatMul; no `Attention` op (that is opset 23). "
        "`unbind` is Slice + Squeeze per output.",
        "- The class token: `Shape(x, start=0, end=1)` -> Concat with [1], [1] -> `Expand` of the [1, 1, 32] "
        "initializer -> Concat (axis 1) with the patches; `x[:, 0]` is `Gather` (axis 1, scalar index 0).",
        "- The WRN normalisation is `Sub`/`Div` by [1, 3, 1, 1] initializers named `mean`, `std`.",
        "- The graph input is named after the forward argument (`x`; `input` for an nn.Sequential), the output "
        "after the last op (`linear`, `linear_2`). ir_version 10, one opset import (\"\", 20).",
        "",
        "Union of op types (models using each):",
        "",
    ]
    union = collections.defaultdict(list)
    for f in facts:
        for op in f["ops"]:
            union[op].append(f["name"])
    for op in sorted(union):
        lines.append(f"- {op}: {', '.join(union[op])}")
    lines += [
        "",
        "## external/",
        "",
        "The `mlp` model (same weights, inputs, logits, grads) exported as above and re-saved with "
        "`onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, "
        f"location=\"model.onnx.data\", size_threshold=0)`: all {n_ext} initializers live in "
        "`external/model.onnx.data`, referenced by a relative `location` from `external/model.onnx`.",
        "",
        "## bad/",
        "",
        "Files an importer must refuse, each with one defect:",
        "",
        "| file | defect |",
        "|---|---|",
        f"| `truncated.onnx` | the first half of `mlp/model.onnx` ({bad['truncated']}) |",
        "| `not_onnx.onnx` | one line of text |",
        f"| `escape.onnx` | `external/model.onnx` with all {bad['escape']} external-data `location` fields "
        "rewritten to `../../x.data` (outside the model's folder) |",
        "| `unsupported.onnx` | valid opset-20 graph x [batch, 8] -> Unsqueeze -> **DFT** (node `spectrum_dft`, "
        "real input, onesided=1, axis 1) -> Flatten -> Gemm -> [batch, 3]; onnx-ir 0.22 parses DFT "
        "(`node/dft.rs`), an importer that does not implement it must name op `DFT`, node `spectrum_dft`, opset 20 |",
        f"| `two_inputs.onnx` | dynamo export of `forward(x, y) = Linear(x) + Linear(y)`: two float inputs "
        f"{bad['two_inputs']}, each [batch, 4] |",
        f"| `missing_initializer.onnx` | `mlp/model.onnx` without the initializer `{bad['missing_initializer'][0]}` "
        f"(input of node `{bad['missing_initializer'][1]}`), which is not a graph input either |",
        "| `cycle.onnx` | x [batch, 4]; `add_cycle`: Add(x, r) -> a; `relu_cycle`: Relu(a) -> r; output r "
        "(each node needs the other's output) |",
        "",
        "## SHA-256",
        "",
        "```",
    ]
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "README.md":
            lines.append(f"{sha256(p)}  {p.relative_to(out).as_posix()}")
    lines += ["```", ""]
    (out / "README.md").write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"fixtures folder (default {DEFAULT_OUT}, relative to the repo root)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("torch").setLevel(logging.ERROR)
    generate(resolve(a.out))


if __name__ == "__main__":
    main()
