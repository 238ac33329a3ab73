"""PyTorch's side of `cargo xtask bench-ops --with-pytorch` (called by worker.py's `ops`).

SmallCnn's operations one at a time at one batch size, under the names the Rust side uses
(xtask/src/bench_ops.rs), each timed per call in milliseconds after two warm-up calls; then
torch.profiler's table (self CPU time per aten op) over 20 training steps. The gradients are
the calls autograd makes: `aten::convolution_backward` with the output mask of each gradient,
`aten::threshold_backward` for ReLU, `aten::max_pool2d_with_indices_backward`.
"""
import time

import torch
import torch.nn.functional as F

conv_bwd = torch.ops.aten.convolution_backward
pool_bwd = torch.ops.aten.max_pool2d_with_indices_backward


def conv_block(prefix, relu_name, pool_name, shape, c_out):
    b, c_in, h, _ = shape
    x = torch.rand(shape) * 2 - 1
    w = torch.rand(c_out, c_in, 3, 3) * 2 - 1
    bias = torch.rand(c_out) * 2 - 1
    o = h - 2
    g = torch.rand(b, c_out, o, o) * 2 - 1
    y = F.relu(F.conv2d(x, w, bias))
    p, idx = F.max_pool2d(y, 2, return_indices=True)
    gp = torch.rand_like(p)
    args = ([1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    return [
        (f"{prefix} forward", lambda: F.conv2d(x, w, bias)),
        (f"{prefix} weight+bias grad", lambda: conv_bwd(g, x, w, [c_out], *args, [False, True, True])),
        (f"{prefix} input grad", lambda: conv_bwd(g, x, w, None, *args, [True, False, False])),
        (f"{relu_name} forward", lambda: F.relu(y)),
        (f"{relu_name} backward", lambda: torch.ops.aten.threshold_backward(g, y, 0)),
        (f"{pool_name} forward", lambda: F.max_pool2d(y, 2, return_indices=True)),
        (f"{pool_name} backward",
         lambda: pool_bwd(gp, y, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)),
    ]


def linear_ops(fwd, bwd, b, i, o):
    x, w, bias, g = torch.rand(b, i), torch.rand(o, i), torch.rand(o), torch.rand(b, o)

    def backward():
        g @ w
        g.t() @ x
        g.sum(0)

    return [(fwd, lambda: F.linear(x, w, bias)), (bwd, backward)]


def whole_model(b):
    from worker import SmallCnn
    model = SmallCnn()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    x = torch.rand(b, 784)
    y = torch.arange(b) % 10
    logits = torch.rand(b, 10, requires_grad=True)
    h = torch.rand(b, 128)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return [
        ("cross-entropy forward+backward", lambda: F.cross_entropy(logits, y).backward()),
        ("dropout forward (host mask)", lambda: F.dropout(h, 0.5, True)),
        ("whole forward", lambda: model(x)),
        ("whole forward+backward", lambda: F.cross_entropy(model(x), y).backward()),
        ("whole training step (+ Adam)", step),
    ], step


def profile(step, steps=20):
    from torch.profiler import ProfilerActivity, profile as prof
    for _ in range(3):
        step()
    with prof(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps):
            step()
    rows = sorted(p.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]
    return [{"name": e.key, "calls_per_step": e.count / steps,
             "self_ms_per_step": e.self_cpu_time_total / 1e3 / steps} for e in rows]


def run(batch, repeats):
    b = batch
    ops = conv_block("conv1", "relu1", "pool1", (b, 1, 28, 28), 16)
    ops += conv_block("conv2", "relu2", "pool2", (b, 16, 13, 13), 32)
    ops += linear_ops("fc1 forward", "fc1 backward", b, 800, 128)
    ops += linear_ops("fc2 forward", "fc2 backward", b, 128, 10)
    whole, step = whole_model(b)
    ops += whole
    times = {}
    with torch.no_grad():
        for name, f in ops[:-5]:
            times[name] = timed(f, repeats)
    for name, f in whole:
        times[name] = timed(f, repeats)
    return {"ops": times, "profile": profile(step)}


def timed(f, repeats):
    f()
    f()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1e3)
    return out
