"""Randomized smoothing's CERTIFY as Cohen et al.'s own code runs it (locuslab/smoothing,
code/core.py, `Smooth.certify`: the selection and estimation counts, `proportion_confint(nA,
n, alpha=2*alpha, method="beta")[0]`, `sigma * norm.ppf(pABar)`, abstain below 1/2), in
PyTorch on an Aegis run's exported weights, compared with Aegis's `certify.json` of the same
run and settings.

    aegis-adversarial-trainer certify --run RUN --method smoothing --sigma 0.25 --n 10000 \
        --limit 100 --out /tmp/cert
    cargo run -p aegis-model -- export --run RUN --out /tmp/run.safetensors
    python bench/pytorch/smoothing_reference.py --arch /tmp/run.arch.json \
        --weights /tmp/run.safetensors --aegis /tmp/cert/certify.json

The settings (σ, n0, n, α, rows) are read from certify.json. The noise differs (torch's
generator, seeded 0, against Aegis's per-row ChaCha8 streams), so the two agree in
distribution, not bit for bit: the script prints both certified-accuracy curves at multiples
of σ/2, how many rows get the same prediction (or both abstain), and each row's count
difference in binomial standard deviations (about normal with spread √2 when both estimate
the same p_A). Needs torch, scipy and statsmodels (0.15.0 was used), run on the bench venv.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import scipy
import statsmodels
import torch
from safetensors.torch import load_file
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from aegis_spec import load_state_dict_converted, model_from_spec  # noqa: E402


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


class Smooth:
    """Cohen et al.'s `Smooth` (code/core.py), certify path, unchanged but for the device."""

    ABSTAIN = -1

    def __init__(self, base_classifier, num_classes, sigma):
        self.base_classifier = base_classifier
        self.num_classes = num_classes
        self.sigma = sigma

    def certify(self, x, n0, n, alpha, batch_size):
        self.base_classifier.eval()
        counts_selection = self._sample_noise(x, n0, batch_size)
        cAHat = counts_selection.argmax().item()
        counts_estimation = self._sample_noise(x, n, batch_size)
        nA = counts_estimation[cAHat].item()
        pABar = self._lower_confidence_bound(nA, n, alpha)
        if pABar < 0.5:
            return Smooth.ABSTAIN, 0.0, nA, pABar
        radius = self.sigma * norm.ppf(pABar)
        return cAHat, radius, nA, pABar

    def _sample_noise(self, x, num, batch_size):
        with torch.no_grad():
            counts = np.zeros(self.num_classes, dtype=int)
            remaining = num
            while remaining > 0:
                this_batch_size = min(batch_size, remaining)
                remaining -= this_batch_size
                batch = x.repeat((this_batch_size, 1, 1, 1))
                noise = torch.randn_like(batch) * self.sigma
                predictions = self.base_classifier(batch + noise).argmax(1)
                counts += np.bincount(predictions.numpy(), minlength=self.num_classes)
            return counts

    def _lower_confidence_bound(self, NA, N, alpha):
        return proportion_confint(NA, N, alpha=2 * alpha, method="beta")[0]


def curve(rows, sigma, top):
    """Certified accuracy at k·σ/2 for k = 0 … top."""
    out = []
    for k in range(top + 1):
        r = sigma * k / 2
        out.append(sum(1 for c, rad in rows if c and rad >= r) / len(rows))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--aegis", required=True, help="Aegis's certify.json")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    aegis = json.load(open(a.aegis))
    cfg = aegis["config"]
    sigma, n0, n, alpha, batch = cfg["sigma"], cfg["n0"], cfg["n"], cfg["alpha"], cfg["batch_size"]
    rows = len(aegis["rows"])
    spec = json.load(open(a.arch))
    model = model_from_spec(spec)
    load_state_dict_converted(model, load_file(a.weights))
    model.eval()
    repo = os.path.dirname(os.path.dirname(HERE))
    x = idx(f"{repo}/assets/mnist/t10k-images-idx3-ubyte.gz")[:rows].astype(np.float32) / 255.0
    y = idx(f"{repo}/assets/mnist/t10k-labels-idx1-ubyte.gz")[:rows].astype(np.int64)
    labels = [r["label"] for r in aegis["rows"]]
    if labels != y.tolist():
        raise SystemExit("certify.json's rows are not the first bundled MNIST test images")
    x = torch.from_numpy(x).reshape(rows, *spec["input_shape"])
    smooth = Smooth(model, 10, sigma)
    start = time.perf_counter()
    ref = [smooth.certify(x[i: i + 1], n0, n, alpha, batch) for i in range(rows)]
    seconds = time.perf_counter() - start
    same = sum(
        1 for (p, _, _, _), r in zip(ref, aegis["rows"])
        if (p == -1 and r["prediction"] is None) or p == r["prediction"]
    )
    z = []
    for (p, _, na, _), r in zip(ref, aegis["rows"]):
        if r["prediction"] is not None and p == r["prediction"]:
            q = (na + r["count"]) / (2 * n)
            sd = max((n * q * (1 - q)) ** 0.5, 1.0)
            z.append((r["count"] - na) / sd)
    top = int(2 * aegis["max_radius"] / sigma) + 1
    cohen = curve([(p == yy, rad) for (p, rad, _, _), yy in zip(ref, y.tolist())], sigma, top)
    ours = curve([(r["correct"], r["radius"]) for r in aegis["rows"]], sigma, top)
    print(json.dumps({
        "torch": torch.__version__, "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__, "sigma": sigma, "n0": n0, "n": n,
        "alpha": alpha, "rows": rows,
        "radii": [sigma * k / 2 for k in range(top + 1)],
        "cohen_certified_accuracy": cohen, "aegis_certified_accuracy": ours,
        "same_prediction_or_both_abstain": same,
        "count_difference_sd": {"rows": len(z), "mean": float(np.mean(z)) if z else None,
                                "std": float(np.std(z)) if z else None,
                                "max_abs": float(np.max(np.abs(z))) if z else None},
        "seconds": seconds,
    }, indent=1))


if __name__ == "__main__":
    main()
