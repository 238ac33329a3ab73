"""PyTorch reference for `cargo xtask bench`: the same tasks, same data, same batch sizes.

Run beside the Rust benchmark on the same cores, e.g.
    taskset -c 0,1 python3 bench/pytorch/smallcnn_bench.py --threads 2
and compare samples/s side by side. Reads the bundled MNIST IDX files from assets/mnist.
"""
import argparse, gzip, json, statistics, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(800, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x.view(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.dropout(F.relu(self.fc1(x.flatten(1))), 0.5, self.training)
        return self.fc2(x)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def train_epoch(model, x, y, bs=64):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), bs):
        b = perm[i:i + bs]
        loss = F.cross_entropy(model(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-rows", type=int, default=1280)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    xtr = torch.tensor(idx("assets/mnist/train-images-idx3-ubyte.gz")[: a.train_rows], dtype=torch.float32, device=dev).view(-1, 784) / 255
    ytr = torch.tensor(idx("assets/mnist/train-labels-idx1-ubyte.gz")[: a.train_rows], dtype=torch.long, device=dev)
    xte = torch.tensor(idx("assets/mnist/t10k-images-idx3-ubyte.gz"), dtype=torch.float32, device=dev).view(-1, 784) / 255
    results = []
    for name, make in [("train SmallCnn (batch 64, Adam)", SmallCnn), ("train MLP 784-128-64-10 (batch 64, Adam)", mlp)]:
        train_epoch(make().to(dev), xtr[:128], ytr[:128])
        secs = []
        for _ in range(a.repeats):
            m = make().to(dev)
            t = time.perf_counter()
            train_epoch(m, xtr, ytr)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            secs.append(time.perf_counter() - t)
        s = statistics.median(secs)
        results.append({"task": name, "samples": a.train_rows, "seconds": s, "samples_per_second": a.train_rows / s})
    m = SmallCnn().to(dev).eval()
    with torch.no_grad():
        m(xte[:500]).argmax(1).tolist()
        secs = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            for i in range(0, len(xte), 500):
                torch.softmax(m(xte[i:i + 500]), 1).argmax(1).tolist()
            secs.append(time.perf_counter() - t)
    s = statistics.median(secs)
    results.append({"task": "inference SmallCnn (1,000 images, batch 500)", "samples": len(xte), "seconds": s, "samples_per_second": len(xte) / s})
    # PGD-10, eps 0.3, step 0.01, random start, one batch of the 1,000 test images (as torchattacks).
    yte = torch.tensor(idx("assets/mnist/t10k-labels-idx1-ubyte.gz"), dtype=torch.long, device=dev)

    def pgd10():
        x = xte + torch.empty_like(xte).uniform_(-0.3, 0.3)
        x = x.clamp(0, 1).detach()
        for _ in range(10):
            x.requires_grad_(True)
            loss = F.cross_entropy(m(x), yte, reduction="sum")
            g, = torch.autograd.grad(loss, x)
            x = x.detach() + 0.01 * g.sign()
            x = torch.min(torch.max(x, xte - 0.3), xte + 0.3).clamp(0, 1)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return x

    pgd10()
    secs = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        pgd10()
        secs.append(time.perf_counter() - t)
    s = statistics.median(secs)
    results.append({"task": "PGD-10 SmallCnn (1,000 images, eps 0.3, step 0.01)", "samples": len(xte), "seconds": s, "samples_per_second": len(xte) / s})
    report = {"torch": torch.__version__, "threads": a.threads, "device": a.device, "results": results}
    print(json.dumps(report, indent=1))
    if a.out:
        json.dump(report, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
