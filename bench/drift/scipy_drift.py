#!/usr/bin/python3
"""The same drift report as `saqrctl drift`, the way a data scientist would write it: pandas
reads both CSV files, then per column NumPy/SciPy compute the method's score.

numeric columns: psi on the baseline's quantile bins (Sturges' count, open-ended end bins,
Evidently's epsilon for empty bins), ks = scipy.stats.ks_2samp (p-value), wasserstein =
scipy.stats.wasserstein_distance / max(std(baseline), 0.001), js = jensenshannon(base=2) on
the same bins, chisquare = scipy.stats.chisquare on the same bins. Categorical columns:
chisquare (or psi/js) on category counts.

    scipy_drift.py BASELINE CURRENT [--method psi|ks|js|wasserstein|chisquare]
"""
import argparse
import json
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

THRESHOLDS = {"psi": 0.1, "js": 0.1, "wasserstein": 0.1, "ks": 0.05, "chisquare": 0.05}


def fill_zeros(p):
    nz = p[p > 0]
    p = p.copy()
    p[p == 0] = nz.min() / 1e6 if nz.min() <= 1e-4 else 1e-4
    return p


def quantile_counts(ref, cur):
    n = math.ceil(math.log2(len(ref) + len(cur)) + 1)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, n + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    return np.histogram(ref, edges)[0].astype(float), np.histogram(cur, edges)[0].astype(float)


def category_counts(ref, cur):
    r, c = ref.value_counts(), cur.value_counts()
    keys = r.index.union(c.index)
    return r.reindex(keys, fill_value=0).to_numpy(float), c.reindex(keys, fill_value=0).to_numpy(float)


def score(method, ref, cur, numeric):
    if numeric and method == "ks":
        return stats.ks_2samp(ref, cur).pvalue
    if numeric and method == "wasserstein":
        return stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
    r, c = quantile_counts(ref, cur) if numeric else category_counts(ref, cur)
    if method == "psi":
        rp, cp = fill_zeros(r / r.sum()), fill_zeros(c / c.sum())
        return float(np.sum((rp - cp) * np.log(rp / cp)))
    if method == "js":
        return float(distance.jensenshannon(r, c, base=2))
    keep = (r > 0) | (c > 0)
    return float(stats.chisquare(c[keep], r[keep] / r[keep].sum() * c[keep].sum()).pvalue)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("current")
    ap.add_argument("--method", default=None)
    a = ap.parse_args()
    base, cur = pd.read_csv(a.baseline), pd.read_csv(a.current)
    report = []
    for col in base.columns:
        numeric = pd.api.types.is_numeric_dtype(base[col])
        method = a.method or ("psi" if numeric else "chisquare")
        r, c = base[col].dropna(), cur[col].dropna()
        s = score(method, r.to_numpy() if numeric else r, c.to_numpy() if numeric else c, numeric)
        t = THRESHOLDS[method]
        drifted = s < t if method in ("ks", "chisquare") else s >= t
        report.append({"name": col, "method": method, "score": s, "drifted": bool(drifted)})
    json.dump({"columns": report, "drifted": any(c["drifted"] for c in report)}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
