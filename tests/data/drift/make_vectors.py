#!/usr/bin/python3
"""Generate vectors.json: reference values from SciPy/NumPy for tests/unit/test_drift_stats.c.

Run once with Debian's SciPy (apt-get install -y python3-scipy):
    /usr/bin/python3 tests/data/drift/make_vectors.py > tests/data/drift/vectors.json
Samples are not stored: both sides rebuild them from (kind, seed, n, loc, scale) with the
same splitmix64 generator using only + - * /, so the doubles are identical in C and Python.
Non-finite numbers are written as the strings "inf", "-inf", "nan".
"""
import json
import math
import sys
from decimal import Decimal, getcontext

import numpy as np
import scipy
import scipy.special as sc
import scipy.stats as st
from scipy.spatial import distance

M64 = (1 << 64) - 1
SQRT3 = 1.7320508075688772


def uniforms(seed):
    state = seed & M64
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        yield float(z >> 11) * (1.0 / 9007199254740992.0)


def sample(kind, seed, n, loc, scale):
    u = uniforms(seed)
    out = []
    for _ in range(n):
        if kind == "normal":  # Irwin-Hall(4), unit variance
            s = next(u) + next(u)
            s = s + next(u)
            s = s + next(u)
            v = (s - 2.0) * SQRT3 * scale + loc
        elif kind == "int":  # ties: integers 0..9 times scale
            v = math.floor(next(u) * 10.0) * scale + loc
        elif kind == "skew":
            a = next(u)
            v = a * a * scale + loc
        else:
            raise ValueError(kind)
        out.append(v)
    return np.array(out)


def num(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def evidently_fill(p):
    p = p.copy()
    nz = p[p != 0]
    eps = nz.min() / 1e6 if nz.min() <= 0.0001 else 0.0001
    p[p == 0] = eps
    return p


def js_exact(ref, cur):
    """Jensen-Shannon distance base 2 in 60-digit decimal arithmetic."""
    getcontext().prec = 60
    tr = sum(Decimal(float(x)) for x in ref)
    tc = sum(Decimal(float(x)) for x in cur)
    s = Decimal(0)
    for a, b in zip(ref, cur):
        p, q = Decimal(float(a)) / tr, Decimal(float(b)) / tc
        m = (p + q) / 2
        if p > 0:
            s += p * (p / m).ln()
        if q > 0:
            s += q * (q / m).ln()
    if s <= 0:
        return 0.0
    return float((s / (2 * Decimal(2).ln())).sqrt())


def binned_case(name, ref, cur, edges):
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    rp = evidently_fill(ref / ref.sum())
    cp = evidently_fill(cur / cur.sum())
    psi = np.sum((rp - cp) * np.log(rp / cp))
    js = distance.jensenshannon(ref, cur, base=2)
    keep = (ref > 0) | (cur > 0)
    r, c = ref[keep], cur[keep]
    if len(r) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = st.chisquare(c, r / r.sum() * c.sum())
        chi_stat, chi_p = chi.statistic, chi.pvalue
        if math.isinf(chi_stat):
            chi_p = 0.0
    else:
        chi_stat, chi_p = 0.0, 1.0
    cdiff = np.abs(np.cumsum(ref) / ref.sum() - np.cumsum(cur) / cur.sum())
    d = float(np.max(cdiff[:-1])) if len(ref) > 1 else 0.0
    en = ref.sum() * cur.sum() / (ref.sum() + cur.sum())
    case = {
        "name": name, "ref": [num(v) for v in ref], "cur": [num(v) for v in cur],
        "psi": num(psi), "js": num(js), "js_exact": js_exact(ref, cur),
        # SciPy sums p ln(p/m) + q ln(q/m) directly, which cancels for nearly equal inputs
        "js_scipy_off": bool(abs(js - js_exact(ref, cur)) > 1e-9 * js_exact(ref, cur) + 1e-12),
        "chi2_stat": num(chi_stat), "chi2_p": num(chi_p),
        "ks_d": d, "ks_p": num(st.kstwobign.sf(math.sqrt(en) * d)),
        "ks_kstwo_n": int(max(1, round(en))), "ks_kstwo_p": num(st.kstwo.sf(d, max(1, round(en)))),
    }
    if edges is not None:
        e = np.asarray(edges, dtype=float)
        mids = []
        for i in range(len(e) - 1):
            lo, hi = e[i], e[i + 1]
            if np.isinf(lo) and np.isinf(hi):
                mids.append(0.0)
            elif np.isinf(lo):
                mids.append(hi)
            elif np.isinf(hi):
                mids.append(lo)
            else:
                mids.append(lo + (hi - lo) / 2)
        mids = np.array(mids)
        w = st.wasserstein_distance(mids, mids, ref, cur) if len(mids) > 1 else 0.0
        mean = np.average(mids, weights=ref)
        std = math.sqrt(np.average((mids - mean) ** 2, weights=ref))
        case.update({"edges": [num(v) for v in e], "w": num(w), "w_std": std,
                     "w_normed": num(w / max(std, 0.001))})
    return case


def binned_cases():
    rng = np.random.default_rng(20240611)
    cases = []
    e10 = list(np.linspace(-2.5, 2.5, 11))
    base = np.array([12, 40, 110, 230, 310, 305, 220, 120, 45, 8], dtype=float)
    cases.append(binned_case("shifted", base, np.roll(base, 1) + 3, e10))
    cases.append(binned_case("identical", base, base, e10))
    cases.append(binned_case("scaled-same-shape", base, base * 7, e10))
    cases.append(binned_case("zero-in-current", base, [0, 30, 100, 240, 320, 300, 220, 130, 50, 0], e10))
    cases.append(binned_case("zero-in-reference", [0, 40, 110, 230, 310, 305, 220, 120, 45, 0], base, e10))
    cases.append(binned_case("tiny-proportion", [1, 40000, 60000, 50000, 30000, 10000, 5000, 3000, 999, 0],
                             [0, 41000, 59000, 50500, 29000, 10500, 5100, 2900, 1000, 2], e10))
    cases.append(binned_case("one-bin", [17], [4], [0.0, 1.0]))
    cases.append(binned_case("two-bins", [5, 5], [9, 1], [0.0, 1.0, 2.0]))
    cases.append(binned_case("open-ends", [3, 50, 200, 120, 9], [1, 30, 180, 170, 30],
                             [-math.inf, 0.005, 0.01, 0.05, 0.1, math.inf]))
    cases.append(binned_case("open-single", [3], [5], [-math.inf, math.inf]))
    cases.append(binned_case("fractional", [0.5, 2.25, 7.75, 3.0], [1.5, 1.25, 6.0, 5.5], [0, 1, 2, 3, 4]))
    cases.append(binned_case("nearly-equal", [1000000, 2000000, 3000000, 4000000],
                             [1000001, 2000000, 2999999, 4000000], [0, 1, 2, 3, 4]))
    cases.append(binned_case("categories", [500, 300, 150, 50, 0], [480, 310, 170, 60, 1], None))
    cases.append(binned_case("categories-big", [500000, 300000, 150000, 50000], [520000, 290000, 140000, 50000],
                             None))
    ref = rng.integers(0, 50, size=300).astype(float)
    cur = np.clip(ref + rng.integers(-5, 6, size=300), 0, None)
    cur[0] = 1
    ref[0] = 1
    cases.append(binned_case("wide-300", ref, cur, list(np.cumsum(rng.uniform(0.1, 1.0, size=301)))))
    return cases


def sample_cases():
    specs = [
        # name, (kind, seed, n, loc, scale) ref, cur, mode
        ("equal-n-50", ("normal", 1, 50, 0.0, 1.0), ("normal", 2, 50, 0.3, 1.0), "auto"),
        ("ties-40-73", ("int", 3, 40, 0.0, 1.0), ("int", 4, 73, 0.0, 1.0), "auto"),
        ("one-vs-three", ("normal", 5, 1, 0.0, 1.0), ("normal", 6, 3, 0.0, 1.0), "auto"),
        ("same-500-800", ("normal", 7, 500, 1.0, 2.0), ("normal", 8, 800, 1.0, 2.0), "auto"),
        ("skew-1000-999", ("skew", 9, 1000, 0.0, 5.0), ("skew", 10, 999, 0.1, 5.0), "auto"),
        ("far-apart", ("normal", 11, 300, 0.0, 1.0), ("normal", 12, 200, 3.0, 1.0), "auto"),
        ("edge-10000", ("normal", 13, 10000, 0.0, 1.0), ("normal", 14, 10000, 0.05, 1.0), "auto"),
        ("exact-10000-7000", ("normal", 15, 10000, 0.0, 1.0), ("normal", 16, 7000, 0.03, 1.0), "auto"),
        ("asymp-12000-9000", ("normal", 17, 12000, 0.0, 1.0), ("normal", 18, 9000, 0.02, 1.0), "auto"),
        ("asymp-20000-200", ("normal", 19, 20000, 0.0, 1.0), ("normal", 20, 200, 0.1, 1.0), "auto"),
        ("asymp-10001-50", ("normal", 21, 10001, 0.0, 1.0), ("normal", 22, 50, 0.0, 1.0), "auto"),
        ("asymp-30000-30000", ("skew", 23, 30000, 0.0, 1.0), ("skew", 24, 30000, 0.0, 1.01), "auto"),
        ("forced-exact-15000-11000", ("normal", 25, 15000, 0.0, 1.0), ("normal", 26, 11000, 0.01, 1.0), "exact"),
        ("forced-asymp-60-45", ("normal", 27, 60, 0.0, 1.0), ("normal", 28, 45, 0.4, 1.0), "asymp"),
        ("forced-asymp-1000-700", ("int", 29, 1000, 0.0, 0.5), ("int", 30, 700, 0.0, 0.5), "asymp"),
        ("const-std", ("int", 31, 20, 4.0, 0.0), ("normal", 32, 30, 4.0, 1.0), "auto"),
    ]
    cases = []
    for name, rs, cs, mode in specs:
        a = sample(*rs)
        b = sample(*cs)
        ks = st.ks_2samp(a, b, method=mode)
        w = st.wasserstein_distance(a, b)
        std = float(np.std(a))
        cases.append({"name": name, "ref": list(rs), "cur": list(cs), "mode": mode,
                      "ks_d": num(ks.statistic), "ks_p": num(ks.pvalue), "w": num(w), "w_std": std,
                      "w_normed": num(w / max(std, 0.001))})
    return cases


def histogram_cases():
    out = []
    for kind, seed, n, edges in [("normal", 40, 5000, list(np.linspace(-3, 3, 21))),
                                 ("int", 41, 777, [0.0, 1.0, 2.5, 3.0, 9.0]),
                                 ("skew", 42, 2000, [0.1, 0.2, 0.4, 0.8])]:
        x = sample(kind, seed, n, 0.0, 1.0)
        counts, _ = np.histogram(x, edges)
        out.append({"sample": [kind, seed, n, 0.0, 1.0], "edges": edges,
                    "counts": [int(c) for c in counts], "outside": int(n - counts.sum())})
    return out


def function_cases():
    rng = np.random.default_rng(7)
    kstwo, smirnov, kolm, gq, two = [], [], [], [], []
    for n in [1, 2, 3, 5, 10, 50, 100, 140, 141, 200, 1000, 5000, 20000, 100000, 100001, 500000, 1000000,
              2000000, 10 ** 7]:
        xs = list(rng.uniform(0, 1, 4)) + list(rng.uniform(0, 3 / math.sqrt(n), 8))
        xs += [0.5 / n, 1 / n, 0.75 / n, 1 - 1 / n, 0.5, 0.4999, math.sqrt(2.2 / n), math.sqrt(0.754693 / n),
               math.sqrt(4 / n), 0.0, 1.0]
        for x in xs:
            if 0 <= x <= 1:
                kstwo.append([n, float(x), num(st.kstwo.sf(x, n))])
    for n in [2, 5, 10, 100, 1012, 1013, 5000, 100000, 1000000, 1000001]:
        for x in list(rng.uniform(0, 1, 4)) + list(rng.uniform(0, 3 / math.sqrt(n), 8)):
            if x <= 1:
                smirnov.append([n, float(x), num(sc.smirnov(n, x))])
    for z in list(rng.uniform(0, 4, 30)) + [0.0, 0.04, 0.0407, 0.05, 0.82, 0.8200001, 5.0, 10.0, 30.0]:
        kolm.append([float(z), num(sc.kolmogorov(z))])
    for a in [0.5, 1, 1.5, 2, 3.5, 9.5, 10, 10.5, 50, 99.5, 1000, 4999.5, 100000]:
        for x in list(rng.uniform(0, 3 * a + 10, 6)) + [a, a + 1, 0.5 * a, 2 * a + 50, 0.0, 1e-3]:
            gq.append([float(a), float(x), num(sc.gammaincc(a, x))])
    from scipy.stats._stats_py import _attempt_exact_2kssamp
    for n1, n2 in [(1, 1), (1, 10), (5, 5), (5, 7), (10, 13), (100, 100), (100, 150), (1000, 999), (3000, 2000),
                   (10000, 10000), (10000, 7000)]:
        g = math.gcd(n1, n2)
        lcm = n1 // g * n2
        for d in list(rng.uniform(0, 1, 3)) + list(rng.uniform(0, 3 * math.sqrt((n1 + n2) / (n1 * n2)), 4)):
            h = int(round(d * lcm))
            ok, _, p = _attempt_exact_2kssamp(n1, n2, g, h / lcm, "two-sided")
            assert ok
            two.append([n1, n2, h, num(p)])
    return {"kstwo_sf": kstwo, "smirnov_sf": smirnov, "kolmogorov_sf": kolm, "gamma_q": gq, "two_sample_sf": two}


def main():
    doc = {
        "generator": "tests/data/drift/make_vectors.py",
        "scipy": scipy.__version__, "numpy": np.__version__,
        "binned": binned_cases(), "samples": sample_cases(), "histogram": histogram_cases(),
        "functions": function_cases(),
    }
    json.dump(doc, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
