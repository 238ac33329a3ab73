"""Reference timing for `cargo xtask bench`'s KernelSHAP row: shap's KernelExplainer on a
breast-cancer MLP of the same shape (30-128-64-2, ReLU, softmax), 100 background rows and
the same sample budget (nsamples = 2 * 30 + 2048 = 2108, Aegis's automatic budget, which is
shap's own `auto` rule).

The MLP runs in numpy with seeded random weights: KernelExplainer's cost is its coalition
bookkeeping and the 100 x 2108 model rows per explained row, which do not depend on the
weight values. Run pinned to the same cores as the Rust bench, e.g.

    taskset -c 0,1 python3 bench/python/kernelshap_bench.py

Needs `pip install shap` (it brings numpy and scikit-learn).
"""

import time

import numpy as np
import shap
from sklearn.datasets import load_breast_cancer


def main():
    x, _ = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    rng = np.random.default_rng(1)
    w1, b1 = rng.normal(0, 0.2, (30, 128)), np.zeros(128)
    w2, b2 = rng.normal(0, 0.1, (128, 64)), np.zeros(64)
    w3, b3 = rng.normal(0, 0.1, (64, 2)), np.zeros(2)

    def predict_proba(v):
        h = np.maximum(v @ w1 + b1, 0)
        h = np.maximum(h @ w2 + b2, 0)
        z = h @ w3 + b3
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    background = x[:100]
    rows = x[455:460]
    explainer = shap.KernelExplainer(lambda v: predict_proba(v)[:, 1], background)
    for l1 in [0, "auto"]:
        explainer.shap_values(rows[:1], nsamples=2108, l1_reg=l1, silent=True)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            explainer.shap_values(rows, nsamples=2108, l1_reg=l1, silent=True)
            times.append(time.perf_counter() - t)
        per_row = sorted(times)[1] / len(rows)
        print(f"shap {shap.__version__} KernelExplainer l1_reg={l1!r}: {per_row:.4f} s per row "
              f"(median of 3 runs of {len(rows)} rows)")


if __name__ == "__main__":
    main()
