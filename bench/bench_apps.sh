#!/usr/bin/env bash
# Overhead of libparacloud_rt (PARACLOUD_TUNE=profile) on a real application: LAMMPS melt at mpirun -np 2, interleaved runs with and without the preload, medians side by side.
# Usage: PARACLOUD_BUILD=/path/to/build bash bench/bench_apps.sh   (or: make -C bench bench-apps)
# Environment: RUNS (pairs, default 7), STEPS (MD steps, default 2000), NP (default 2), BOX (lattice cells per side, default 10).
# Prints the whole run's wall time (mpirun start to exit) and LAMMPS' own "Loop time" (the MD loop only).
set -u
build=${PARACLOUD_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
rt=$build/runtime/.libs/libparacloud_rt.so
runs=${RUNS:-7} steps=${STEPS:-2000} np=${NP:-2} box=${BOX:-10}
lmp=''
for c in lmp lmp_openmpi lmp_mpi; do command -v "$c" >/dev/null && { lmp=$(command -v "$c"); break; }; done
[ -n "$lmp" ] || { echo "SKIP: LAMMPS not installed (apt-get install lammps)"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
[ -f "$rt" ] || { echo "bench_apps: $rt not built: make -C $build/runtime" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
unset LD_PRELOAD PARACLOUD_TUNE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR SLURM_JOB_ID

work=$(mktemp -d "${TMPDIR:-/tmp}/pc-bench-apps.XXXXXX")
trap 'rm -rf "$work"' EXIT
melt=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/integration/data/melt.lmp

# one MODE: runs LAMMPS once; appends "wall loop" to $work/MODE.times.
one() {
  local mode=$1 x=() t0 t1 loop
  [ "$mode" = profile ] && x=(-x "LD_PRELOAD=$rt" -x PARACLOUD_TUNE=profile -x "PARACLOUD_PROFILE=$work/profile.json")
  t0=$(date +%s.%N)
  (cd "$work" && mpirun -np "$np" "${x[@]}" "$lmp" -in "$melt" -var box "$box" -var steps "$steps" -var thermo 100 -log none >"$work/$mode.out" 2>"$work/$mode.err") \
    || { echo "bench_apps: LAMMPS ($mode) failed:" >&2; tail -5 "$work/$mode.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  loop=$(sed -n 's/^Loop time of \([0-9.]*\) .*/\1/p' "$work/$mode.out")
  echo "$(echo "$t1 - $t0" | bc -l) $loop" >>"$work/$mode.times"
}

echo "bench_apps: LAMMPS melt ($((4 * box * box * box)) atoms, $steps steps) at mpirun -np $np, $runs interleaved pairs"
echo "  host: $(nproc) cores, $(uname -r); runtime: $rt"
one none; one profile; rm -f "$work"/*.times  # warm-up pair (page cache, first mpirun)
for i in $(seq 1 "$runs"); do
  if [ $((i % 2)) = 1 ]; then one none; one profile; else one profile; one none; fi  # ABBA order
done
cmp -s <(grep -E '^ +[0-9]+ ' "$work/none.out") <(grep -E '^ +[0-9]+ ' "$work/profile.out") \
  || echo "bench_apps: WARNING: thermo output differs with the preload"
[ -s "$work/profile.json" ] || echo "bench_apps: WARNING: no profile was written in profile mode"

python3 - "$work/none.times" "$work/profile.times" <<'EOF'
import statistics, sys
a = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
b = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
def row(name, k):
    x, y = [t[k] for t in a], [t[k] for t in b]
    mx, my = statistics.median(x), statistics.median(y)
    pairs = statistics.median(q / p for p, q in zip(x, y))
    print(f"  {name:<18} {mx:10.3f} s {my:10.3f} s {100 * (my / mx - 1):+8.2f} % {100 * (pairs - 1):+10.2f} %"
          f"   (min {min(x):.3f} / {min(y):.3f}, spread {100 * (max(x) - min(x)) / mx:.0f}% / {100 * (max(y) - min(y)) / my:.0f}%)")
print(f"  {'':<18} {'no preload':>12} {'profile':>12} {'overhead':>10} {'pairwise':>12}")
row("wall (mpirun)", 0)
row("LAMMPS loop time", 1)
print("  overhead = median(profile) / median(no preload) - 1; pairwise = median of per-pair ratios - 1. Target <= 1%.")
print("  On a shared 2-core host run-to-run noise is several %: compare the spread before reading the overhead.")
EOF
