"""Fixture for the Attention op of Aegis's ONNX interpreter (crates/model/tests/onnx_import.rs).

PyTorch's legacy exporter (`torch.onnx.export(..., dynamo=False)`, opset 17) writes hand-written
attention `softmax(q @ k.transpose(-2, -1) / sqrt(d)) @ v` as MatMul / Div / Softmax / MatMul,
which onnx-ir coalesces into one `Attention` node (the dynamo exporter's decomposition of
`scaled_dot_product_attention` is not coalesced; tests/fixtures/onnx/vit covers that). The model:
Linear 12 -> 5 tokens x 16, fused qkv Linear, 2 heads, Split, attention, projection, mean over
tokens, Linear 16 -> 4. Writes model.onnx, inputs.npy, logits.npy and grads.npy (the input gradient
of sum_i log_softmax(logits)[i, argmax_i]) into crates/model/tests/fixtures/onnx_attention/.

    python3 bench/pytorch/onnx_attention_fixture.py

Made with torch 2.15.0 (CPU); deterministic (torch.manual_seed(0)).
"""
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent.parent / "crates/model/tests/fixtures/onnx_attention"


class TinyAttention(nn.Module):
    def __init__(self, d=16, heads=2, tokens=5, classes=4):
        super().__init__()
        self.d, self.h, self.t = d, heads, tokens
        self.embed = nn.Linear(12, tokens * d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        b, d, h = x.shape[0], self.d, self.h
        t = self.embed(x).reshape(b, self.t, d)
        q, k, v = self.qkv(t).reshape(b, self.t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) / (d // h) ** 0.5, -1) @ v
        y = self.proj(a.transpose(1, 2).reshape(b, self.t, d))
        return self.head(y.mean(1)) * 3.0


def main():
    torch.manual_seed(0)
    model = TinyAttention().eval()
    x = torch.randn(4, 12)
    OUT.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(OUT / "model.onnx"), dynamo=False, opset_version=17)
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    F.log_softmax(logits, 1).gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    np.save(OUT / "inputs.npy", x.numpy())
    np.save(OUT / "logits.npy", logits.detach().numpy())
    np.save(OUT / "grads.npy", xg.grad.numpy())


if __name__ == "__main__":
    main()
