"""Reference values for randomized smoothing's statistics (Cohen, Rosenfeld & Kolter 2019).

Writes crates/adversarial-trainer/tests/fixtures/smoothing_scipy.json, which the unit tests of
crates/adversarial-trainer/src/certified/clopper_pearson.rs compare against to 1e-9:

- lower_confidence_bound: the one-sided (1 - alpha) Clopper-Pearson lower bound of k successes
  in n trials, scipy.stats.beta.ppf(alpha, k, n - k + 1) (0 for k = 0). It equals Cohen et al.'s
  proportion_confint(k, n, alpha=2*alpha, method="beta")[0] from statsmodels;
- binomial_test_half: scipy.stats.binomtest(k, n, 0.5).pvalue (two-sided), PREDICT's test;
- normal_quantile: scipy.stats.norm.ppf(p).

Run with the bench venv (torch is not needed; `pip install scipy`):
    $HOME/.cache/aegis-target/bench-venv/bin/python bench/python/smoothing_reference.py
Produced with SciPy 1.17.1 (the version is recorded in the JSON).
"""

import json
import pathlib

import scipy
from scipy import stats

OUT = (
    pathlib.Path(__file__).resolve().parents[2]
    / "crates/adversarial-trainer/tests/fixtures/smoothing_scipy.json"
)


def lower(k, n, alpha):
    return 0.0 if k == 0 else float(stats.beta.ppf(alpha, k, n - k + 1))


def main():
    cases = []
    for n in [1, 10, 100, 1000, 10000, 100000]:
        ks = sorted({1, n // 2, (9 * n) // 10, (99 * n) // 100, n - 1, n} - {0})
        for k in ks:
            for alpha in [0.001, 0.01, 0.05]:
                cases.append({"k": k, "n": n, "alpha": alpha, "scipy": lower(k, n, alpha)})
    # The smallest alpha accepted (MIN_ALPHA).
    for n, k in [(1000, 900), (100000, 99000), (100000, 100000), (10, 10)]:
        cases.append({"k": k, "n": n, "alpha": 1e-12, "scipy": lower(k, n, 1e-12)})
    # Counts near the top of Cohen's n = 100,000 (radii near the largest certifiable).
    for k in [99990, 99999, 50500, 50001]:
        cases.append({"k": k, "n": 100000, "alpha": 0.001, "scipy": lower(k, 100000, 0.001)})
    tests = []
    for k, n in [(0, 1), (1, 1), (3, 10), (7, 10), (10, 10), (60, 100), (40, 100),
                 (55, 100), (50, 100), (520, 1000), (1000, 1000), (5100, 10000)]:
        tests.append({"k": k, "n": n, "scipy": float(stats.binomtest(k, n, 0.5).pvalue)})
    quantiles = [
        {"p": p, "scipy": float(stats.norm.ppf(p))}
        for p in [0.5, 0.5001, 0.6, 0.75, 0.9, 0.99, 0.999, 0.99993, 1e-6, 0.3]
    ]
    OUT.write_text(
        json.dumps(
            {
                "produced_by": "bench/python/smoothing_reference.py",
                "scipy": scipy.__version__,
                "lower_confidence_bound": cases,
                "binomial_test_half": tests,
                "normal_quantile": quantiles,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"{len(cases)} bounds, {len(tests)} tests, {len(quantiles)} quantiles -> {OUT}")


if __name__ == "__main__":
    main()
