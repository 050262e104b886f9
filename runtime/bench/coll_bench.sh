#!/bin/bash
# Collective latency per message size (8 B .. 16 MiB) with coll_sweep: Open MPI's default (no
# preload), the preload in profile mode, each fixed algorithm of the paracloud tuner
# (PARACLOUD_TUNE_FORCE, native included), and PARACLOUD_TUNE=auto (1st run: empty store, explores;
# 2nd run: from the 1st run's store). All configurations run side by side in one invocation,
# interleaved REPS times (order rotated per repetition); each cell is the fastest of the REPS runs
# (STAT=min, default: a shared VM switches between two speeds for minutes at a time, and the
# median then compares configurations run in different regimes) or their median (STAT=median).
# Usage: coll_bench.sh [--json FILE] SWEEP_PROGRAM
#   env: PC_RT (libparacloud_rt.so, required), MPIRUN (default mpirun), NP (default: nproc, >= 2),
#        ITERS (calls per size, default 100; coll_sweep runs ITERS x 8192/bytes below 8 KiB), REPS (default 3), MAX_BYTES (default 16777216),
#        STAT (min or median over REPS, default min), JSON (same as --json); PARACLOUD_TUNE_MARGIN/_BUDGET/_ROUNDS are passed to the tuned runs.
set -u

usage() { sed -n 's/^# \{0,1\}//; 2,10p' "$0"; }
die() { echo "coll_bench: $*" >&2; exit 1; }

json_out=${JSON:-}
while [ $# -gt 0 ]; do
  case $1 in
    --json) [ $# -ge 2 ] || die "--json needs a FILE"; json_out=$2; shift 2 ;;
    --json=*) json_out=${1#--json=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option '$1'" ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
sweep=$1
[ -x "$sweep" ] || die "'$sweep' is not an executable sweep program (build tree: make -C runtime bench/coll_sweep)"
PC_RT=${PC_RT:-}
[ -f "$PC_RT" ] || die "PC_RT='$PC_RT' is not the preload library (build tree: runtime/.libs/libparacloud_rt.so; make -C runtime)"
[ -f "$(dirname "$PC_RT")/libparacloud_tunestore.so" ] ||
  die "$(dirname "$PC_RT")/libparacloud_tunestore.so is missing: the auto runs could not save or load decisions (make -C runtime)"
MPIRUN=${MPIRUN:-mpirun}
command -v "$MPIRUN" >/dev/null || die "MPIRUN='$MPIRUN' not found (apt-get install openmpi-bin, or set MPIRUN)"
command -v python3 >/dev/null || die "python3 is needed to tabulate the results"
is_int() { case $1 in '' | *[!0-9]*) return 1 ;; esac; [ "$1" -ge "$2" ]; }
cores=$(nproc)
np=${NP:-}
[ -n "$np" ] || { np=$cores; [ "$np" -ge 2 ] || np=2; }
iters=${ITERS:-100}
reps=${REPS:-3}
max=${MAX_BYTES:-16777216}
is_int "$np" 2 || die "NP='$np' is not an integer >= 2"
is_int "$iters" 2 || die "ITERS='$iters' is not an integer >= 2"
is_int "$reps" 1 || die "REPS='$reps' is not an integer >= 1"
is_int "$max" 8 || die "MAX_BYTES='$max' is not an integer >= 8"

# Only what this script sets reaches the ranks: no inherited preload or PARACLOUD_* setting (the
# tuner knobs MARGIN/BUDGET/ROUNDS excepted, passed to every preloaded run and printed).
knobs=()
for v in $(compgen -e | grep '^PARACLOUD_'); do
  case $v in
    PARACLOUD_TUNE_MARGIN | PARACLOUD_TUNE_BUDGET | PARACLOUD_TUNE_ROUNDS) knobs+=("$v=${!v}") ;;
    *) unset "$v" ;;
  esac
done
unset LD_PRELOAD
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
work=$(mktemp -d "${TMPDIR:-/tmp}/pc-coll-bench.XXXXXX") || die "mktemp -d failed (TMPDIR=${TMPDIR:-/tmp})"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# launch NAME SWEEP_ARGS [VAR=VALUE...]: one mpirun of the sweep (in $work), stdout in $work/NAME.
launch() {
  local name=$1 args=$2 t0=$SECONDS rc=0
  shift 2
  local x=()
  for v in "$@"; do x+=(-x "$v"); done
  # shellcheck disable=SC2086 # $args: sweep options, split on purpose
  (cd "$work" && "$MPIRUN" --oversubscribe -np "$np" "${x[@]}" "$sweep" -i "$iters" -m "$max" $args \
    >"$work/$name" 2>"$work/$name.err") || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q '^[a-z]' "$work/$name"; then
    echo "coll_bench: run '$name' failed (exit $rc): $MPIRUN --oversubscribe -np $np ${x[*]} $sweep -i $iters -m $max $args" >&2
    tail -20 "$work/$name.err" >&2
    exit 1
  fi
  if grep -q 'PARACLOUD_TUNE_FORCE item' "$work/$name.err"; then
    die "run '$name': the runtime ignored a forced algorithm: $(grep -m1 'PARACLOUD_TUNE_FORCE' "$work/$name.err")"
  fi
  echo "coll_bench: $name: $((SECONDS - t0)) s" >&2
}
pre=(LD_PRELOAD="$PC_RT" PARACLOUD_TUNE_SITE_DIR="$work/no-site-store" ${knobs[@]+"${knobs[@]}"})

echo "coll_bench: -np $np on $(uname -n) ($cores cores), $iters calls per size (x 8192/bytes below 8 KiB), $reps repetitions, 8 B .. $max B"
echo "coll_bench: $("$MPIRUN" --version 2>/dev/null | head -1); btl $OMPI_MCA_btl${knobs[*]+; ${knobs[*]}}"
# Probe: the algorithms the tuner may choose at this rank count (its candidates, one call per size).
launch probe "-i 1 -s 0" "${pre[@]}" PARACLOUD_TUNE=auto PARACLOUD_TUNE_DIR="$work/store.probe" \
  PARACLOUD_PROFILE="$work/probe.json"
mapfile -t fixed < <(python3 - "$work/probe.json" <<'PY'
# Fixed run k forces, for each collective, its k-th candidate (native first, then by name).
import json, sys
try:
    t = json.load(open(sys.argv[1]))["tuning"]
except (OSError, ValueError, KeyError) as e:
    sys.exit(f"coll_bench: no tuning section in the probe's profile {sys.argv[1]}: {e}")
cand = {}
for d in t["decisions"]:
    cand.setdefault(d["collective"], set()).update(c["algorithm"] for c in d["candidates"])
order = {c: sorted(a, key=lambda x: (x != "native", x)) for c, a in cand.items()}
for k in range(max(map(len, order.values()), default=0)):
    items = [f"{c}:{a[k]}" for c, a in order.items() if k < len(a)]
    print(",".join(items) + " " + ",".join(i.split(":")[0] for i in items))
PY
)
[ "${#fixed[@]}" -gt 0 ] || die "the probe found no tuner candidates (is the tuner enabled? see $work/probe.err)"

# One repetition = every configuration once; the order rotates per repetition ("auto" = 1st + 2nd).
units=(default profile)
for k in "${!fixed[@]}"; do units+=("fixed$k"); done
units+=(auto)
n=${#units[@]}
for ((r = 0; r < reps; r++)); do
  for ((i = 0; i < n; i++)); do
    u=${units[$(((i + r) % n))]}
    case $u in
      default) launch "default.$r" "" ;;
      profile) launch "profile.$r" "" "${pre[@]}" PARACLOUD_TUNE=profile PARACLOUD_PROFILE="$work/profile.$r.json" ;;
      fixed*)
        k=${u#fixed}
        launch "$u.$r" "-c ${fixed[$k]#* }" "${pre[@]}" PARACLOUD_TUNE=auto PARACLOUD_TUNE_DIR="$work/store.$u.$r" \
          PARACLOUD_PROFILE="$work/$u.$r.json" PARACLOUD_TUNE_FORCE="${fixed[$k]% *}" ;;
      auto)
        launch "auto1.$r" "" "${pre[@]}" PARACLOUD_TUNE=auto PARACLOUD_TUNE_DIR="$work/store.auto.$r" PARACLOUD_PROFILE="$work/auto1.$r.json"
        launch "auto2.$r" "" "${pre[@]}" PARACLOUD_TUNE=auto PARACLOUD_TUNE_DIR="$work/store.auto.$r" PARACLOUD_PROFILE="$work/auto2.$r.json" ;;
    esac
  done
done

stat=${STAT:-min}
case $stat in min|median) ;; *) die "STAT='$stat' is neither min nor median" ;; esac
STAT=$stat python3 - "$work" "$reps" "$np" "$iters" "$((SECONDS - start))" "$json_out" "${fixed[@]%% *}" <<'PY'
import json, math, os, statistics, sys
STAT = os.environ["STAT"]
work, reps, np, iters, elapsed, json_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
forces = [dict(i.split(":") for i in f.split(",")) for f in sys.argv[7:]]
BEST_FIXED, DEFAULT = 1.05, 1.03   # targets: auto2 <= 1.05 x best fixed, <= 1.03 x default

def read(name):
    out = {}
    for line in open(os.path.join(work, name)):
        if line.startswith("#") or not line.strip():
            continue
        c, b, us = line.split()
        out[(c, int(b))] = float(us)
    return out

def profile(name):
    try:
        return json.load(open(os.path.join(work, name)))["tuning"]
    except (OSError, ValueError, KeyError):
        return None

# runs[config][(coll, bytes)] = [us per repetition]
runs = {}
def add(config, name, only=None):
    for key, us in read(name).items():
        if only is None or key[0] in only:
            runs.setdefault(config, {}).setdefault(key, []).append(us)
for r in range(reps):
    add("default", f"default.{r}")
    add("profile", f"profile.{r}")
    add("auto1", f"auto1.{r}")
    add("auto2", f"auto2.{r}")
    for k, f in enumerate(forces):
        for coll, alg in f.items():
            add(f"{coll}:{alg}", f"fixed{k}.{r}", {coll})
    for k, f in enumerate(forces):  # the profile must show every requested algorithm as forced
        t = profile(f"fixed{k}.{r}.json")
        got = set(t["forced"]) if t else set()
        want = {f"{c}:{a}" for c, a in f.items()}
        if got != want:
            sys.exit(f"coll_bench: fixed run {k}.{r} forced {sorted(got)}, expected {sorted(want)}")
pick = min if STAT == "min" else statistics.median
med = {cfg: {key: pick(v) for key, v in d.items()} for cfg, d in runs.items()}

def size(b):
    if b == 0:
        return "-"
    for unit, div in (("Mi", 1 << 20), ("Ki", 1 << 10)):
        if b >= div and b % div == 0:
            return f"{b // div}{unit}"
    return str(b)

def ratio(a, b):
    return a / b if a and b else float("nan")

# Tuner bookkeeping of the auto runs (from their profiles).
explore = {}
loaded = all((profile(f"auto2.{r}.json") or {}).get("store_loaded") for r in range(reps))
for r in range(reps):
    for d in (profile(f"auto1.{r}.json") or {}).get("decisions", []):
        e = explore.setdefault(d["collective"], {"calls": 0, "unfinished": 0})
        e["calls"] += d["explore_calls"]
        e["unfinished"] += d["source"] == "exploring"
    for d in (profile(f"auto2.{r}.json") or {}).get("decisions", []):
        e = explore.setdefault(d["collective"], {"calls": 0, "unfinished": 0})
        e.setdefault("auto2_explore_calls", 0)
        e["auto2_explore_calls"] += d["explore_calls"]

print(f"""
Columns (us per call; each run: mean of the last half of {iters} calls (x 8192/bytes below 8 KiB), max over ranks;
each cell: the {'fastest' if STAT == 'min' else 'median'} of {reps} run(s)):
  default      Open MPI's own choice, NO preload (LD_PRELOAD unset)
  profile      preload, PARACLOUD_TUNE=profile: interception + profiling, no tuner
  <algorithm>  preload, PARACLOUD_TUNE=auto + PARACLOUD_TUNE_FORCE=<collective>:<algorithm>
               (native: Open MPI's algorithm reached through the tuner's dispatch)
  best fixed   the fastest of the <algorithm> columns, (which) one
  auto1        preload, PARACLOUD_TUNE=auto, empty store: explores in its first calls
  auto2        the same, second run: decisions from auto1's store
  a2/best, a2/def: auto2 / best fixed (target <= {BEST_FIXED}), auto2 / default (target <= {DEFAULT});
  '*' marks a miss; speedup = default / auto2""")

report = {"np": np, "iters": iters, "reps": reps, "stat": STAT, "elapsed_s": elapsed, "host": os.uname().nodename,
          "cores": os.cpu_count(), "targets": {"auto2_over_best_fixed": BEST_FIXED,
          "auto2_over_default": DEFAULT}, "auto2_started_from_store": bool(loaded), "collectives": {}}
total = met = 0
colls = []
for (c, b) in med["default"]:
    if c not in colls:
        colls.append(c)
for c in colls:
    algs = []
    for f in forces:
        if c in f:
            algs.append(f[c])
    head = ["bytes", "default", "profile"] + algs + ["best fixed", "(which)", "auto1", "auto2", "a2/best", "a2/def", "speedup"]
    rows, sizes = [], []
    for b in sorted(b for (cc, b) in med["default"] if cc == c):
        k = (c, b)
        fx = {a: med.get(f"{c}:{a}", {}).get(k) for a in algs}
        valid = {a: v for a, v in fx.items() if v}
        best = min(valid, key=valid.get) if valid else None
        d, p, a1, a2 = (med.get(cfg, {}).get(k) for cfg in ("default", "profile", "auto1", "auto2"))
        rb, rd, sp = ratio(a2, valid.get(best)), ratio(a2, d), ratio(d, a2)
        ok_best, ok_def = rb <= BEST_FIXED, rd <= DEFAULT
        fmt = lambda v: f"{v:.2f}" if v else "n/a"
        rows.append([size(b), fmt(d), fmt(p)] + [fmt(fx[a]) for a in algs] +
                    [fmt(valid.get(best)), str(best), fmt(a1), fmt(a2),
                     f"{rb:.2f}" + ("" if ok_best else "*"), f"{rd:.2f}" + ("" if ok_def else "*"), f"{sp:.2f}x"])
        sizes.append({"bytes": b, "default": d, "profile": p, "fixed": fx, "best_fixed": best,
                      "best_fixed_us": valid.get(best), "auto1": a1, "auto2": a2,
                      "auto2_over_best_fixed": rb, "auto2_over_default": rd, "speedup": sp,
                      "runs": {cfg: runs.get(cfg, {}).get(k) for cfg in
                               ["default", "profile", "auto1", "auto2"] + [f"{c}:{a}" for a in algs]}})
        total += 1
        met += ok_best and ok_def
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(f"\n{c} (-np {np})")
    just = lambda i, x: x.ljust(w[i]) if head[i] == "(which)" else x.rjust(w[i])
    print("  ".join(just(i, h) for i, h in enumerate(head)))
    for r in rows:
        print("  ".join(just(i, x) for i, x in enumerate(r)))
    near = [s for s in sizes if s["auto2_over_best_fixed"] <= BEST_FIXED]
    worse = [s for s in sizes if not s["auto2_over_default"] <= DEFAULT]
    sp = [s["speedup"] for s in sizes if s["speedup"] == s["speedup"]]
    geo = math.exp(sum(map(math.log, sp)) / len(sp)) if sp else float("nan")
    e = explore.get(c, {"calls": 0, "unfinished": 0})
    print(f"  auto2 <= {BEST_FIXED}x best fixed: {len(near)}/{len(sizes)} sizes" +
          ("" if len(near) == len(sizes) else "; missed at " + ", ".join(
              f"{size(s['bytes'])} ({s['auto2_over_best_fixed']:.2f}x)" for s in sizes if s not in near)))
    print(f"  auto2 > 3% worse than default: {len(worse)}/{len(sizes)} sizes" +
          ("" if not worse else ": " + ", ".join(f"{size(s['bytes'])} ({s['auto2_over_default']:.2f}x)" for s in worse)))
    print(f"  speedup default/auto2: geometric mean {geo:.2f}x, range {min(sp, default=float('nan')):.2f}x .. {max(sp, default=float('nan')):.2f}x")
    print(f"  auto1 explored {e['calls']} calls over {reps} run(s); keys still exploring at exit: {e['unfinished']}" +
          (" (raise ITERS: unfinished keys are not stored)" if e["unfinished"] else ""))
    report["collectives"][c] = {"algorithms": algs, "sizes": sizes, "meets_best_fixed": len(near),
                                "worse_than_default": [s["bytes"] for s in worse], "speedup_geomean": geo,
                                "auto1_explore_calls": e["calls"], "auto1_unfinished_keys": e["unfinished"],
                                "auto2_explore_calls": e.get("auto2_explore_calls", 0)}
print(f"\ntargets met (auto2 <= {BEST_FIXED}x best fixed and <= {DEFAULT}x default) at {met}/{total} (collective, size) points")
if not loaded:
    print("WARNING: an auto2 run did not load a store file: it explored again (see ITERS, the tuner's budget)")
report["points_meeting_targets"], report["points"] = met, total
def finite(v):  # JSON has no NaN: a missing measurement is null
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v
if json_out:
    with open(json_out, "w") as f:
        json.dump(finite(report), f, indent=1)
    print(f"machine-readable results: {json_out}")
PY
rc=$?
[ "$rc" -eq 0 ] || die "tabulating the results failed (exit $rc)"
echo "coll_bench: $((SECONDS - start)) s in all"
if [ "$np" -gt "$cores" ] || [ "$cores" -le 4 ]; then
  echo "NOTE: $np ranks on $cores cores (a shared machine?): close algorithms can swap places between"
  echo "runs; performance claims need a dedicated node with at least as many cores as ranks."
fi
