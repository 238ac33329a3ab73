"""The PyTorch side of `cargo xtask bench --with-pytorch` (and `bench-ops --with-pytorch`).

A persistent process, so no repeat pays the interpreter's start-up: it reads one JSON command
per line on stdin and answers one JSON line on stdout ({"ok": true, ...} or {"ok": false,
"error": "..."}). The Rust bench interleaves its own repeats with these (Aegis, PyTorch,
Aegis, PyTorch, ...), on the same cores (this process inherits the bench's CPU affinity) and
the same data (the rows the bench wrote, read with numpy), and each answer carries only the
seconds of the timed part, measured here with perf_counter.

Commands:
  hello {threads}                 -> versions; sets torch.set_num_threads(threads)
  data {dir, train_rows, test_rows} -> loads DIR/{train,test}_{x.f32,y.i64}
  weights {path}                  -> loads Aegis's SmallCnn (.safetensors, PyTorch layout) as the
                                     model of the inference-side tasks; answers its logits of
                                     the first 8 test rows, for the bench's same-network check
  run {task, ...}                 -> {"seconds", "cpu_seconds"} of one repeat (see TASKS)
  ops {batch, repeats}            -> SmallCnn's operations one at a time (bench_ops.py)
  realsize {dir, arch, rows, seed} -> writes a real-size model (realsize.py: resnet18, wrn16_4)
                                     and its rows to DIR, makes them the model and the data of
                                     the tasks (train then builds that arch); answers its
                                     parameter count and logits of the first 8 rows

SmallCnn and the recipe follow crates/model/src/models/small_cnn.rs and train/fit.rs:
conv(1->16, 3x3) relu maxpool2, conv(16->32, 3x3) relu maxpool2, linear(800->128) relu
dropout(0.5), linear(128->10); Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-8), mean
cross-entropy, shuffled batches, the loss and the hits read back every batch (as Aegis's loop
does for its progress line and NaN stop), test accuracy after the epoch.
"""
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class SmallCnn(nn.Module):
    def __init__(self, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(800, 128)
        self.fc2 = nn.Linear(128, 10)
        self.p = dropout
        self.mc = False  # Monte-Carlo dropout: dropout on at inference

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x.view(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.dropout(F.relu(self.fc1(x.flatten(1))), self.p, self.training or self.mc)
        return self.fc2(x)


def mlp():
    """Aegis's MLP 784-128-64-10 (dropout 0 by default)."""
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


STATE = {"model": None}


def new_model(arch):
    """A fresh model of `arch`: SmallCnn, the MLP, or a real-size one (realsize.py)."""
    if arch == "smallcnn":
        return SmallCnn()
    if arch == "mlp":
        return mlp()
    import realsize
    return realsize.build(arch)


def cpu_now():
    t = os.times()
    return t.user + t.system


def timed(fn):
    """Seconds and process CPU seconds of fn()."""
    c0, t0 = cpu_now(), time.perf_counter()
    fn()
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_now() - c0}


def hello(req):
    torch.set_num_threads(int(req["threads"]))
    return {"torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "executable": sys.executable,
            "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.is_available(),
            "cuda": torch.cuda.is_available()}


def data(req):
    d = req["dir"]
    for split, rows in (("train", req["train_rows"]), ("test", req["test_rows"])):
        x = np.fromfile(os.path.join(d, f"{split}_x.f32"), dtype="<f4").reshape(rows, 784)
        y = np.fromfile(os.path.join(d, f"{split}_y.i64"), dtype="<i8")
        STATE[split] = (torch.from_numpy(x.copy()), torch.from_numpy(y.copy()))
    return {}


def weights(req):
    from safetensors.torch import load_file
    tensors = load_file(req["path"])
    # The built-in spec names its layers by position: conv1 = 0, conv2 = 3, fc1 = 7, fc2 = 10.
    ordered = sorted(tensors.items(), key=lambda kv: (int(kv[0].split(".")[0]), kv[0]))
    model = SmallCnn()
    params = list(model.state_dict().keys())
    by_layer = {}
    for k, v in ordered:
        by_layer.setdefault(int(k.split(".")[0]), {})[k.split(".")[1]] = v
    state = {}
    for (w, b), layer in zip(zip(params[::2], params[1::2]), sorted(by_layer)):
        state[w], state[b] = by_layer[layer]["weight"], by_layer[layer]["bias"]
    model.load_state_dict(state, strict=True)
    model.eval()
    STATE["model"] = model
    with torch.no_grad():
        logits = model(STATE["test"][0][:8])
    return {"logits": logits.flatten().tolist()}


def train(req):
    """One epoch of the first `rows` training rows, batch `batch`, fresh model (built inside
    the timed part, as Aegis's bench builds its model inside), then test accuracy on
    `test_rows` rows."""
    x, y = STATE["train"]
    x, y = x[: req["rows"]], y[: req["rows"]]
    xt, yt = STATE["test"]
    xt, yt = xt[: req["test_rows"]], yt[: req["test_rows"]]
    bs = req["batch"]

    def epoch():
        model = new_model(req["arch"])
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
        model.train()
        perm = torch.randperm(len(x))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x), bs):
            b = perm[i: i + bs]
            logits = model(x[b])
            loss = F.cross_entropy(logits, y[b])
            hits = (logits.detach().argmax(1) == y[b]).sum()
            value = loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += value * len(b)
            correct += hits.item()
        model.eval()
        with torch.no_grad():
            (model(xt).argmax(1) == yt).float().mean().item()

    return timed(epoch)


def infer(req):
    """Class predictions (softmax, read back, argmax on the host, as Aegis's `predict`)."""
    m, (x, _) = STATE["model"], STATE["test"]
    x, bs = x[: req["rows"]], req["batch"]

    def run():
        with torch.no_grad():
            for i in range(0, len(x), bs):
                torch.softmax(m(x[i: i + bs]), 1).numpy().argmax(1)

    return timed(run)


def pgd(req):
    """PGD-10 (L-inf, random start, sum of cross-entropy) in batches, as Aegis's `Pgd`."""
    m, (x, y) = STATE["model"], STATE["test"]
    x, y, bs = x[: req["rows"]], y[: req["rows"]], req["batch"]
    eps, step, steps = req["eps"], req["step_size"], req["steps"]

    def attack(xb, yb):
        xa = (xb + torch.empty_like(xb).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = F.cross_entropy(m(xa), yb, reduction="sum")
            g, = torch.autograd.grad(loss, xa)
            xa = xa.detach() + step * g.sign()
            xa = torch.min(torch.max(xa, xb - eps), xb + eps).clamp(0, 1)
        return xa.numpy()

    def run():
        for i in range(0, len(x), bs):
            attack(x[i: i + bs], y[i: i + bs])

    return timed(run)


def integrated_gradients(req):
    """IG of the true class's logit, zero baseline, Gauss-Legendre with `steps` nodes, the
    interpolated rows in chunks of `internal_batch` (Captum's recipe, as Aegis's), with the
    convergence delta's two extra forward passes."""
    m, (x, y) = STATE["model"], STATE["test"]
    n, steps, chunk = req["images"], req["steps"], req["internal_batch"]
    x, y = x[:n], y[:n]
    nodes, w = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor(0.5 * (nodes + 1), dtype=torch.float32)
    weights = torch.tensor(0.5 * w, dtype=torch.float64)

    def run():
        rows = n * steps
        idx = torch.arange(rows)
        img, k = idx // steps, idx % steps
        acc = torch.zeros(n, 784, dtype=torch.float64)
        for s in range(0, rows, chunk):
            i, kk = img[s: s + chunk], k[s: s + chunk]
            batch = (alphas[kk].unsqueeze(1) * x[i]).requires_grad_(True)
            sel = m(batch).gather(1, y[i].unsqueeze(1)).sum()
            g, = torch.autograd.grad(sel, batch)
            acc.index_add_(0, i, g.double() * weights[kk].unsqueeze(1))
        attr = (acc * x.double()).float().numpy()
        with torch.no_grad():
            fx = m(x).gather(1, y.unsqueeze(1))
            fb = m(torch.zeros_like(x)).gather(1, y.unsqueeze(1))
        return attr, (fx - fb).numpy()

    return timed(run)


def mc_dropout(req):
    """T stochastic passes with dropout on: each chunk of max(1, batch_rows // T) inputs tiled T
    times into one batch, logits read back into [T, N, C] (as Aegis's `McDropout`)."""
    m, (x, _) = STATE["model"], STATE["test"]
    n, t = req["rows"], req["passes"]
    x, chunk = x[:n], max(1, req["batch_rows"] // t)

    def run():
        m.mc = True
        out = np.zeros((t, n, 10), dtype=np.float32)
        with torch.no_grad():
            for s in range(0, n, chunk):
                xb = x[s: s + chunk]
                b = len(xb)
                out[:, s: s + b] = m(xb.repeat(t, 1)).numpy().reshape(t, b, 10)
        m.mc = False
        return out

    return timed(run)


TASKS = {"train": train, "infer": infer, "pgd": pgd, "ig": integrated_gradients,
         "mc_dropout": mc_dropout}


def run(req):
    torch.manual_seed(req.get("seed", 1))
    return TASKS[req["task"]](req)


def realsize(req):
    import realsize as rs
    model, x, y, params = rs.make(req["dir"], req["arch"], req["rows"], req["seed"])
    STATE["model"] = model
    STATE["train"] = STATE["test"] = (x, y)
    with torch.no_grad():
        logits = model(x[:8])
    return {"parameters": params, "logits": logits.flatten().tolist()}


def ops(req):
    import bench_ops
    return bench_ops.run(req["batch"], req["repeats"])


COMMANDS = {"hello": hello, "data": data, "weights": weights, "run": run, "ops": ops,
            "realsize": realsize}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            answer = COMMANDS[req["cmd"]](req)
            answer["ok"] = True
        except Exception as e:  # answered, so the bench can say what failed
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
