#!/usr/bin/env python3
"""coll_fp.py ALGORITHM NP COUNT FILE [NATIVE_FILE]: checks the per-rank fingerprints that
`coll_check fp COUNT` printed (calls and elements of a counting user op in one MPI_Allreduce and one
MPI_Reduce to root 0) against what ALGORITHM (allreduce:NAME or reduce:NAME) must produce."""
import re
import sys


def blocks(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def start(n, k, b):
    return b * (n // k) + min(b, n % k)


def expected(coll, alg, p, n, native):
    if alg == "native":
        return native
    out = {}
    pof2 = 1
    while pof2 * 2 <= p:
        pof2 *= 2
    rem, steps = p - pof2, pof2.bit_length() - 1
    for r in range(p):
        if coll == "allreduce" and alg in ("recursive_doubling", "rabenseifner"):
            calls = elems = 0
            if r < 2 * rem and r % 2 == 0:
                out[r] = (0, 0)
                continue
            if r < 2 * rem:
                calls, elems = 1, n
            newrank = r // 2 if r < 2 * rem else r - rem
            if alg == "recursive_doubling":
                out[r] = (calls + steps, elems + steps * n)
                continue
            lo, hi, mask = 0, pof2, pof2 // 2
            while mask >= 1:
                mid = lo + (hi - lo) // 2
                lo, hi = (lo, mid) if newrank < (newrank ^ mask) else (mid, hi)
                span = start(n, pof2, hi) - start(n, pof2, lo)
                if span > 0:
                    calls, elems = calls + 1, elems + span
                mask //= 2
            out[r] = (calls, elems)
        elif alg in ("ring", "scatter_gather"):
            got = [b for i, b in enumerate(blocks(n, p)) if i != r and b > 0]
            out[r] = (len(got), sum(got))
        elif coll == "reduce" and alg == "binomial":
            calls, mask = 0, 1
            while mask < p and not r & mask:
                if r + mask < p:
                    calls += 1
                mask <<= 1
            out[r] = (calls, calls * n)
        else:
            return None
    return out


def read(path, coll):
    fp = {}
    for line in open(path):
        m = re.match(r"fp (\w+) count=\d+ rank=(\d+) calls=(\d+) elems=(\d+)", line)
        if m and m.group(1) == coll:
            fp[int(m.group(2))] = (int(m.group(3)), int(m.group(4)))
    return fp


def main():
    algo, p, n, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    coll, alg = algo.split(":")
    got = read(path, coll)
    native = read(sys.argv[5], coll) if len(sys.argv) > 5 else None
    if alg == "hierarchical":
        # Node = rank // node_size (PARACLOUD_TUNE_TEST_NODE_SIZE): only node leaders reduce.
        k = int(sys.argv[6]) if len(sys.argv) > 6 else 2
        bad = [r for r in range(p) if r % k and got.get(r) != (0, 0)]
        if bad or not any(got.get(r, (0, 0))[1] for r in range(0, p, k)) and p > 1:
            print(f"{algo} np={p}: non-leaders {bad} reduced, or no leader did: {got}")
            return 1
        return 0
    want = expected(coll, alg, p, n, native)
    if want is None or got != want:
        print(f"{algo} np={p} count={n}: fingerprints {got}, expected {want}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
