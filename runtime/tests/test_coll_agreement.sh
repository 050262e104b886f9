#!/bin/bash
# Exploration with skewed timings: every rank adds its own random delay (PARACLOUD_TUNE_TEST_NOISE,
# up to 300 us before each explored call), so that local rankings differ. All ranks must still
# make the same decision for every key (per-rank traces identical), finish (no deadlock: run_mpi's
# timeout), get correct results, and the profile must list the decisions.
. "$PC_SRCDIR/tests/lib.sh"
. "$PC_SRCDIR/tests/coll_lib.sh"
need_coll
for np in 3 4; do
  for trial in 1 2; do
    name="agree.$np.$trial"
    if ! PARACLOUD_TUNE_TEST_NOISE=300000 PARACLOUD_TUNE_DIR="$work/store.$name" \
      PARACLOUD_TUNE_TEST_TRACE="$work/$name.trace" tuned "$np" "$name" loop 100; then
      fail "$name: exit status $? (deadlock or wrong results)"; head "$work/$name" "$work/$name.err"; continue
    fi
    grep -q "0 failures" "$work/$name" || fail "$name: wrong results"
    n=$(ls "$work/$name.trace".* | wc -l)
    [ "$n" -eq "$np" ] || { fail "$name: $n traces for $np ranks"; continue; }
    same=yes
    for r in $(seq 1 $((np - 1))); do cmp -s "$work/$name.trace.0" "$work/$name.trace.$r" || same=no; done
    if [ $same = yes ]; then ok "$name: same decisions on all $np ranks"; else
      fail "$name: ranks decided differently"; for r in $(seq 0 $((np - 1))); do echo "rank $r:"; cat "$work/$name.trace.$r"; done; fi
    # Every key was decided by exploring (the loop runs long enough) and the profile has them.
    grep -q "(exploring)" "$work/$name.trace.0" && fail "$name: a key was still exploring after 100 calls"
    "$PYTHON3" - "$work/$name.json" "$work/$name.trace.0" <<'PY' || fail "$name: profile decisions differ from the trace"
import json, sys
t = json.load(open(sys.argv[1]))["tuning"]
trace = [l.split() for l in open(sys.argv[2]) if "->" in l]
prof = sorted((d["collective"], d["bucket"], d["algorithm"], d["source"]) for d in t["decisions"])
mine = sorted((l[0], int(l[3].split("=")[1]), l[6], l[7].strip("()")) for l in trace)
assert t["enabled"] and t["exploration_calls"] > 0, t
assert prof == mine, (prof, mine)
PY
  done
done
finish
