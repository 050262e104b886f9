#!/bin/bash
# run_bench.sh OVERHEAD_BINARY: per-call overhead of libparacloud_rt.so (no preload vs
# PARACLOUD_TUNE=off vs profile) at -np 1 and 2, and process start-up cost on /bin/true with and
# without LD_PRELOAD. Configurations are interleaved and repeated; medians are printed side by side.
# Environment: PC_RT (the preload library), MPIRUN; REPS (default 5), STARTS (default 300).
set -u
prog=$1
reps=${REPS:-5}
starts=${STARTS:-300}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d "${TMPDIR:-/tmp}/pc-rt-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "runtime bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "loops: MPI_Comm_rank, 0-byte MPI_Allreduce, 0-byte MPI_Send+MPI_Recv to self; $reps interleaved runs each, median"
for np in 1 2; do
  for rep in $(seq "$reps"); do
    for mode in none off profile; do
      case $mode in
        none) pre=() ;;
        off) pre=(-x LD_PRELOAD="$PC_RT" -x PARACLOUD_TUNE=off) ;;
        profile) pre=(-x LD_PRELOAD="$PC_RT" -x PARACLOUD_TUNE=profile -x PARACLOUD_PROFILE_DIR="$work") ;;
      esac
      "$MPIRUN" --oversubscribe --bind-to none -np "$np" "${pre[@]}" "$prog" >>"$work/np$np.$mode" 2>>"$work/err" \
        || { echo "run failed (np $np, $mode):"; cat "$work/err"; exit 1; }
    done
  done
done
python3 - "$work" "$starts" "$PC_RT" <<'PY'
import statistics, subprocess, sys, time, os
work, starts, rt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def rows(path):
    return [dict(kv.split("=") for kv in line.split()) for line in open(path)]
# Medians, then minima (the best run: what the code costs when the shared cores are not busy).
for stat, fn in (("median", statistics.median), ("min", min)):
    print(f"{stat} of runs, ns per call:")
    print(f"{'np':>2} {'loop':<15} {'none':>8} {'off':>8} {'profile':>8} {'off-none':>9} {'prof-none':>9} {'prof/none':>9}")
    for np in (1, 2):
        r = {mode: rows(f"{work}/np{np}.{mode}") for mode in ("none", "off", "profile")}
        for k in r["none"][0]:
            n, o, p = (fn(float(x[k]) for x in r[mode]) for mode in ("none", "off", "profile"))
            print(f"{np:>2} {k:<15} {n:8.2f} {o:8.2f} {p:8.2f} {o-n:9.2f} {p-n:9.2f} {p/n:9.2f}")
# start-up: /bin/true, alternating with and without the preload
env_rt = dict(os.environ, LD_PRELOAD=rt)
t = {"plain": [], "preload": []}
for i in range(starts):
    for name, env in (("plain", os.environ), ("preload", env_rt)):
        t0 = time.perf_counter()
        subprocess.run(["/bin/true"], env=env, check=True)
        t[name].append(time.perf_counter() - t0)
a, b = statistics.median(t["plain"]) * 1e6, statistics.median(t["preload"]) * 1e6
print(f"start-up /bin/true ({starts} runs each, median): plain {a:.0f} us, LD_PRELOAD {b:.0f} us, "
      f"+{b-a:.0f} us, ratio {b/a:.3f}")
PY
