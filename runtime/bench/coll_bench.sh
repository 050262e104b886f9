#!/bin/bash
# Collective latency per message size (8 B .. 16 MiB): Open MPI's default, each fixed algorithm of
# the paracloud tuner (PARACLOUD_TUNE_FORCE), and PARACLOUD_TUNE=auto (first run: explores; second
# run: from the store), with the speedup of the second auto run over the default.
# Usage: coll_bench.sh SWEEP_PROGRAM   (env: PC_RT, MPIRUN, NP (default 2), ITERS (default 40))
set -u
sweep=$1
np=${NP:-2}
iters=${ITERS:-40}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
work=$(mktemp -d "${TMPDIR:-/tmp}/pc-coll-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
run() {  # NAME [VAR=VALUE...]: one sweep, results in $work/NAME
  local name=$1; shift
  local x=(-x LD_PRELOAD="$PC_RT" -x PARACLOUD_TUNE=auto -x PARACLOUD_TUNE_DIR="$work/store" -x PARACLOUD_TUNE_SITE_DIR="$work/site" -x PARACLOUD_PROFILE="$work/$name.json")
  [ "$name" = default ] && x=()
  for v in "$@"; do x+=(-x "$v"); done
  "$MPIRUN" --oversubscribe -np "$np" "${x[@]}" "$sweep" -i "$iters" >"$work/$name" 2>"$work/$name.err" \
    || { echo "coll_bench: run $name failed:"; cat "$work/$name.err"; exit 1; }
}
echo "coll_bench: -np $np, $iters calls per size, $(nproc) cores: $(uname -n)"
run default
configs=(
  "allreduce:recursive_doubling,bcast:binomial,allgather:ring,alltoall:pairwise,reduce:binomial,barrier:dissemination"
  "allreduce:ring,bcast:scatter_allgather,allgather:recursive_doubling,alltoall:bruck,reduce:scatter_gather"
  "allreduce:rabenseifner,bcast:chain,allgather:bruck"
  "allreduce:hierarchical"
)
for i in "${!configs[@]}"; do run "fixed$i" PARACLOUD_TUNE_FORCE="${configs[$i]}"; done
run auto1
run auto2
python3 - "$work" "${#configs[@]}" "${configs[@]}" <<'PY'
import sys, collections
work, n = sys.argv[1], int(sys.argv[2])
configs = sys.argv[3:3 + n]
def read(name):
    out = {}
    for line in open(f"{work}/{name}"):
        if line.startswith("#"): continue
        c, b, us = line.split()
        out[(c, int(b))] = float(us)
    return out
default, auto1, auto2 = read("default"), read("auto1"), read("auto2")
fixed = collections.defaultdict(dict)   # (coll, bytes) -> {alg: us}
for i, cfg in enumerate(configs):
    r = read(f"fixed{i}")
    for item in cfg.split(","):
        c, a = item.split(":")
        for (cc, b), us in r.items():
            if cc == c: fixed[(cc, b)][a] = us
colls = []
for (c, b) in default:
    if c not in colls: colls.append(c)
for c in colls:
    algs = sorted({a for (cc, b), d in fixed.items() if cc == c for a in d})
    print(f"\n{c} (us per call, max over ranks)")
    head = ["bytes", "default"] + algs + ["auto 1st", "auto 2nd", "speedup"]
    print("  ".join(f"{h:>18}" for h in head))
    for (cc, b) in sorted(k for k in default if k[0] == c):
        row = [str(b), f"{default[(c, b)]:.2f}"] + [f"{fixed[(c, b)].get(a, float('nan')):.2f}" for a in algs]
        row += [f"{auto1.get((c, b), float('nan')):.2f}", f"{auto2.get((c, b), float('nan')):.2f}"]
        sp = default[(c, b)] / auto2[(c, b)] if auto2.get((c, b)) else float("nan")
        row.append(f"{sp:.2f}x")
        print("  ".join(f"{x:>18}" for x in row))
PY
echo
echo "NOTE: timings on a small shared machine (-np $np) are noise-prone; rankings between close"
echo "algorithms can flip from run to run. Performance claims need a larger allocation."
