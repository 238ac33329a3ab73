"""Shared helpers for the PyTorch reference scripts: the two custom modules Aegis models use
(`Normalize`, `Residual`) and the emitters that turn one `nn.Sequential` into an Aegis
architecture spec (`arch.json`).

The spec is emitted from the model itself, one small function per layer type, so it cannot
drift from the network that produced the weights. Any setting Aegis cannot express (ceil_mode,
padding_mode other than zeros, GELU's tanh approximation, ...) raises instead of being dropped.

Spec format (JSON, written with indent=2):
    {"input_shape": [C, H, W], "layers": [ {"type": "conv2d", ...}, ... ]}
Pair values are always 2-element lists. Layer names are omitted: the default naming (top-level
index; inside a residual `<index>.body.<j>` / `<index>.projection.<j>`) matches the
state_dict names of the `nn.Sequential` built with the `Residual` module below.
"""
import json

import torch
import torch.nn as nn


class Normalize(nn.Module):
    """Per-channel `(x - mean) / std` on `[N, C, H, W]`. The constants are plain python lists,
    not parameters or buffers, so they do not appear in the state_dict."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean = [float(m) for m in (mean if isinstance(mean, (list, tuple)) else [mean])]
        self.std = [float(s) for s in (std if isinstance(std, (list, tuple)) else [std])]
        if len(self.mean) != len(self.std):
            raise ValueError("mean and std must have the same length")

    def forward(self, x):
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std


class Residual(nn.Module):
    """`body(x) + projection(x)`, or `body(x) + x` without a projection."""

    def __init__(self, body, projection=None):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.projection = nn.Sequential(*projection) if projection else None

    def forward(self, x):
        return self.body(x) + (self.projection(x) if self.projection is not None else x)


def pair(v):
    """PyTorch int-or-tuple argument -> 2-element list of ints."""
    if isinstance(v, int):
        return [v, v]
    v = [int(i) for i in v]
    if len(v) == 1:
        return [v[0], v[0]]
    if len(v) != 2:
        raise ValueError(f"expected a pair, got {v}")
    return v


def _require(cond, what):
    if not cond:
        raise ValueError(f"not expressible in an Aegis spec: {what}")


# ---- one emitter per layer type ------------------------------------------------------------

def spec_normalize(m):
    return {"type": "normalize", "mean": list(m.mean), "std": list(m.std)}


def spec_conv2d(m):
    _require(m.padding_mode == "zeros", f"Conv2d padding_mode={m.padding_mode!r}")
    _require(not isinstance(m.padding, str), f"Conv2d padding={m.padding!r}")
    return {
        "type": "conv2d",
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel_size": pair(m.kernel_size),
        "stride": pair(m.stride),
        "padding": pair(m.padding),
        "dilation": pair(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }


def _spec_batchnorm(kind):
    def emit(m):
        _require(m.affine and m.track_running_stats, "BatchNorm without affine/running stats")
        _require(m.momentum is not None, "BatchNorm momentum=None (cumulative average)")
        return {"type": kind, "num_features": m.num_features, "eps": m.eps, "momentum": m.momentum}
    return emit


spec_batchnorm1d = _spec_batchnorm("batchnorm1d")
spec_batchnorm2d = _spec_batchnorm("batchnorm2d")


def spec_layernorm(m):
    _require(m.elementwise_affine and m.bias is not None, "LayerNorm without affine weight and bias")
    return {"type": "layernorm", "normalized_shape": [int(d) for d in m.normalized_shape], "eps": m.eps}


def spec_linear(m):
    return {"type": "linear", "in_features": m.in_features, "out_features": m.out_features,
            "bias": m.bias is not None}


def spec_maxpool2d(m):
    _require(not m.ceil_mode and not m.return_indices, "MaxPool2d ceil_mode/return_indices")
    return {
        "type": "maxpool2d",
        "kernel_size": pair(m.kernel_size),
        "stride": pair(m.stride if m.stride is not None else m.kernel_size),
        "padding": pair(m.padding),
        "dilation": pair(m.dilation),
    }


def spec_avgpool2d(m):
    _require(not m.ceil_mode and m.divisor_override is None, "AvgPool2d ceil_mode/divisor_override")
    return {
        "type": "avgpool2d",
        "kernel_size": pair(m.kernel_size),
        "stride": pair(m.stride if m.stride is not None else m.kernel_size),
        "padding": pair(m.padding),
        "count_include_pad": bool(m.count_include_pad),
    }


def spec_adaptiveavgpool2d(m):
    size = m.output_size if isinstance(m.output_size, (list, tuple)) else [m.output_size]
    _require(None not in size, "AdaptiveAvgPool2d with a None output dimension")
    return {"type": "adaptiveavgpool2d", "output_size": pair(m.output_size)}


def spec_flatten(m):
    _require(m.start_dim == 1 and m.end_dim == -1, f"Flatten({m.start_dim}, {m.end_dim})")
    return {"type": "flatten"}


def spec_gelu(m):
    _require(m.approximate == "none", f"GELU approximate={m.approximate!r}")
    return {"type": "gelu"}


def spec_leakyrelu(m):
    return {"type": "leakyrelu", "negative_slope": m.negative_slope}


def spec_dropout(m):
    return {"type": "dropout", "p": m.p}


def _plain(kind):
    return lambda m: {"type": kind}


EMITTERS = {
    Normalize: spec_normalize,
    nn.Conv2d: spec_conv2d,
    nn.BatchNorm1d: spec_batchnorm1d,
    nn.BatchNorm2d: spec_batchnorm2d,
    nn.LayerNorm: spec_layernorm,
    nn.Linear: spec_linear,
    nn.MaxPool2d: spec_maxpool2d,
    nn.AvgPool2d: spec_avgpool2d,
    nn.AdaptiveAvgPool2d: spec_adaptiveavgpool2d,
    nn.Flatten: spec_flatten,
    nn.ReLU: _plain("relu"),
    nn.GELU: spec_gelu,
    nn.LeakyReLU: spec_leakyrelu,
    nn.Dropout: spec_dropout,
    nn.SiLU: _plain("silu"),
    nn.Tanh: _plain("tanh"),
    nn.Sigmoid: _plain("sigmoid"),
}


def leaf_spec(m):
    emit = EMITTERS.get(type(m))  # exact type: a subclass may change forward()
    if emit is None:
        raise ValueError(f"no Aegis spec for {type(m).__name__}")
    return emit(m)


def spec_residual(m):
    for sub in list(m.body) + (list(m.projection) if m.projection is not None else []):
        _require(not isinstance(sub, (Residual, nn.Sequential)), "nested residual/sequential")
    spec = {"type": "residual", "layers": [leaf_spec(s) for s in m.body]}
    if m.projection is not None:
        spec["projection"] = [leaf_spec(s) for s in m.projection]
    return spec


def layer_spec(m):
    return spec_residual(m) if type(m) is Residual else leaf_spec(m)


def model_spec(model, input_shape):
    """Aegis spec dict of a top-level `nn.Sequential`."""
    if type(model) is not nn.Sequential:
        raise ValueError("the model must be one top-level nn.Sequential")
    return {"input_shape": [int(d) for d in input_shape], "layers": [layer_spec(m) for m in model]}


def write_spec(path, model, input_shape):
    spec = model_spec(model, input_shape)
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    return spec


def load_state_dict_converted(model, tensors):
    """`load_state_dict(strict=True)` after converting each tensor to the dtype the model has
    (e.g. floats in another precision, `num_batches_tracked` in another integer type). A
    one-element tensor is reshaped to a 0-dim one where the model has a scalar (Aegis may write
    `num_batches_tracked` as shape [] or [1]); every other shape must match exactly, and names
    are checked strictly."""
    own = model.state_dict()
    fixed = {}
    for k, t in tensors.items():
        if k in own:
            ref = own[k]
            if ref.dim() == 0 and t.numel() == 1:
                t = t.reshape(())
            t = t.to(ref.dtype)
        fixed[k] = t
    model.load_state_dict(fixed, strict=True)
    return model


# ---- the other way: an Aegis spec (e.g. from `aegis-model export`) as a PyTorch model -----

def _leaf_from_spec(s):
    k = s["type"]
    if k == "linear":
        return nn.Linear(s["in_features"], s["out_features"], bias=s.get("bias", True))
    if k == "conv2d":
        return nn.Conv2d(s["in_channels"], s["out_channels"], s["kernel_size"], stride=s.get("stride", 1),
                         padding=s.get("padding", 0), dilation=s.get("dilation", 1), groups=s.get("groups", 1),
                         bias=s.get("bias", True))
    if k in ("batchnorm1d", "batchnorm2d"):
        cls = nn.BatchNorm1d if k == "batchnorm1d" else nn.BatchNorm2d
        return cls(s["num_features"], eps=s.get("eps", 1e-5), momentum=s.get("momentum", 0.1))
    if k == "layernorm":
        return nn.LayerNorm(s["normalized_shape"], eps=s.get("eps", 1e-5))
    if k == "maxpool2d":
        return nn.MaxPool2d(s["kernel_size"], stride=s.get("stride"), padding=s.get("padding", 0),
                            dilation=s.get("dilation", 1))
    if k == "avgpool2d":
        return nn.AvgPool2d(s["kernel_size"], stride=s.get("stride"), padding=s.get("padding", 0),
                            count_include_pad=s.get("count_include_pad", True))
    if k == "adaptiveavgpool2d":
        return nn.AdaptiveAvgPool2d(tuple(pair(s["output_size"])))
    if k == "flatten":
        return nn.Flatten()
    if k == "dropout":
        return nn.Dropout(s["p"])
    if k == "normalize":
        return Normalize(s["mean"], s["std"])
    if k == "leakyrelu":
        return nn.LeakyReLU(s.get("negative_slope", 0.01))
    plain = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "silu": nn.SiLU}
    if k in plain:
        return plain[k]()
    raise ValueError(f"unknown layer type {k!r}")


def model_from_spec(spec):
    """The `nn.Sequential` an Aegis spec describes, with the default state_dict names (a
    spec whose layers carry explicit names needs a model of its own)."""
    layers = []
    for s in spec["layers"]:
        if "name" in s:
            raise ValueError(f"layer {s['name']!r} has an explicit name: build the model by hand")
        if s["type"] == "residual":
            layers.append(Residual([_leaf_from_spec(x) for x in s["layers"]],
                                   [_leaf_from_spec(x) for x in s.get("projection") or []] or None))
        else:
            layers.append(_leaf_from_spec(s))
    return nn.Sequential(*layers)
