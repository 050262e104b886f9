#!/usr/bin/env python3
"""check_profile.py: asserts facts about one paracloud profile (PROFILE-SCHEMA.md).

Usage: check_profile.py PROFILE --np N [checks...]
  --expect NAME=EXPR        total count of call NAME over all ranks == EXPR (n = ranks); 0 = absent
  --exact LAYER             every call of LAYER in the profile is named by an --expect
  --bytes NAME=EXPR         total payload bytes of call NAME == EXPR
  --errors NAME=EXPR        total failed calls of NAME == EXPR
  --hist NAME=BYTES:EXPR    calls of NAME in the size bin holding BYTES == EXPR
  --comm NAME=SIZE:EXPR     calls of NAME on communicators of SIZE ranks == EXPR
  --fortran                 every expected call with a nonzero count came through Fortran
  --layer LAYER.FIELD=EXPR  layers[LAYER][FIELD].sum == EXPR (e.g. mpiio.bytes_written)
  --layer-min LAYER.FIELD=EXPR   ... >= EXPR
  --field KEY=VALUE         top-level field KEY (dotted path) equals VALUE (compared as text)
Prints one line per failed check and exits 1 if any failed.
"""
import argparse
import json
import sys


def size_bin(b):
    return 0 if b == 0 else min(b.bit_length(), 31)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--np", type=int, required=True)
    for opt in ("expect", "exact", "bytes", "errors", "hist", "comm", "layer", "layer_min", "field"):
        ap.add_argument("--" + opt.replace("_", "-"), action="append", default=[])
    ap.add_argument("--fortran", action="store_true")
    a = ap.parse_args()
    with open(a.profile, encoding="utf-8") as f:
        prof = json.load(f)
    n = a.np
    calls = {c["name"]: c for c in prof["calls"]}
    fails = []
    checks = 0

    def ev(expr):
        return eval(expr, {"n": n})  # expressions come from the test scripts

    def check(ok, what):
        nonlocal checks
        checks += 1
        if not ok:
            fails.append(what)

    check(prof.get("schema") == "paracloud-profile" and prof.get("version") == 1, "schema/version")
    check(prof["ranks"] == n, f"ranks {prof['ranks']} != {n}")
    expected = {}
    for e in a.expect:
        name, expr = e.split("=", 1)
        want = ev(expr)
        expected[name] = want
        got = calls[name]["count"]["sum"] if name in calls else 0
        check(got == want, f"{name}: count {got} != {want}")
        if a.fortran and want and name in calls:
            fc = calls[name]["fortran_calls"]
            check(fc == got, f"{name}: fortran_calls {fc} != count {got}")
    for layer in a.exact:
        for name, c in calls.items():
            if c["layer"] == layer:
                check(name in expected, f"{name}: unexpected call in layer {layer} (count {c['count']['sum']})")
    for e in a.bytes:
        name, expr = e.split("=", 1)
        got = calls[name]["bytes"]["sum"] if name in calls else 0
        check(got == ev(expr), f"{name}: bytes {got} != {ev(expr)}")
    for e in a.errors:
        name, expr = e.split("=", 1)
        got = calls[name]["errors"] if name in calls else 0
        check(got == ev(expr), f"{name}: errors {got} != {ev(expr)}")
    for e in a.hist:
        name, rest = e.split("=", 1)
        nbytes, expr = rest.split(":", 1)
        b = size_bin(int(nbytes))
        got = sum(h["count"] for h in calls.get(name, {}).get("size_hist", []) if h["bin"] == b)
        check(got == ev(expr), f"{name}: {got} calls in the bin of {nbytes} bytes != {ev(expr)}")
    for e in a.comm:
        name, rest = e.split("=", 1)
        size, expr = rest.split(":", 1)
        size = int(size)
        got = sum(c["count"] for c in calls.get(name, {}).get("comm_sizes", [])
                  if c["min_size"] <= size and (c["max_size"] is None or size <= c["max_size"]))
        check(got == ev(expr), f"{name}: {got} calls on communicators of {size} ranks != {ev(expr)}")
    for opt, cmp in ((a.layer, lambda x, y: x == y), (a.layer_min, lambda x, y: x >= y)):
        for e in opt:
            path, expr = e.split("=", 1)
            layer, field = path.split(".", 1)
            got = prof["layers"][layer][field]["sum"]
            check(cmp(got, ev(expr)), f"layers.{path}: {got} vs {ev(expr)}")
    for e in a.field:
        path, value = e.split("=", 1)
        got = prof
        for k in path.split("."):
            got = got.get(k) if isinstance(got, dict) else None
        check(str(got).lower() == value.lower(), f"{path}: {got!r} != {value}")
    for f in fails:
        print(f"check_profile: {a.profile}: {f}")
    print(f"check_profile: {checks - len(fails)}/{checks} checks passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
