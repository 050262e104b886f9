#!/bin/bash
# Issue 12 benchmark (a): row-by-row reads of a deflate-compressed chunked dataset whose chunks
# exceed HDF5's default 1 MiB chunk cache, untuned (no runtime) vs its second run under
# PARACLOUD_TUNE=auto (the first run learns the chunk cache from its own profile), side by side
# in one run: wall time of the read phase (best of REPS), the ratio, and pread calls (profiles).
# Usage: io_bench.sh HDF5_ROWS_PROG   (env: PC_RT, MPIRUN, ROWS COLS CR CC, REPS, RULES)
set -u
prog=$1
rows=${ROWS:-512} cols=${COLS:-8192} cr=${CR:-128} cc=${CC:-2048} reps=${REPS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d "${TMPDIR:-/tmp}/pc-io-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PARACLOUD_TUNE_DIR="$work/store" PARACLOUD_IO_RULES=${RULES:?RULES: the io-rules.json}
file="$work/rows.h5"
mpirun_() { "${MPIRUN:-mpirun}" --oversubscribe -np 1 "$@"; }
# timed LABEL ENV...: best wall time of REPS read runs
timed() {
  local best=""
  for _ in $(seq "$reps"); do
    local t0 t1
    t0=$(date +%s.%N)
    mpirun_ "$@" "$prog" "$file" "$rows" "$cols" "$cr" "$cc" read >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
    t1=$(date +%s.%N)
    best=$(awk -v a="$t0" -v b="$t1" -v best="$best" 'BEGIN { t = b - a; if (best == "" || t < best) best = t; printf "%.3f", best }')
  done
  echo "$best"
}
echo "io bench: ${rows}x${cols} doubles, deflate, ${cr}x${cc} chunks ($((cr * cc * 8 / 1024)) KiB), row by row, best of $reps"
mpirun_ "$prog" "$file" "$rows" "$cols" "$cr" "$cc" write >/dev/null || exit 1
untuned=$(timed)
sum_plain=$(cat "$work/out")
# Run 1 (learns) with a profile, then the tuned runs; one more tuned run with a profile for preads.
mpirun_ -x LD_PRELOAD="$PC_RT" -x PARACLOUD_TUNE=auto -x PARACLOUD_PROFILE="$work/run1.json" -x PARACLOUD_TUNE_DIR \
  -x PARACLOUD_IO_RULES "$prog" "$file" "$rows" "$cols" "$cr" "$cc" read >/dev/null 2>"$work/run1.err" || exit 1
tuned=$(timed -x LD_PRELOAD="$PC_RT" -x PARACLOUD_TUNE=auto -x PARACLOUD_TUNE_DIR -x PARACLOUD_IO_RULES \
  -x PARACLOUD_PROFILE="$work/run2.json")
cmp -s <(echo "$sum_plain") "$work/out" || { echo "FAIL: the tuned run's checksum differs"; exit 1; }
cache=$(sed -n 's/^effective chunk cache: //p' "$work/err")
preads() { python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(sum(c["count"]["sum"] for c in p["calls"] if c["name"] in ("pread","pread64")))' "$1"; }
p1=$(preads "$work/run1.json") p2=$(preads "$work/run2.json")
printf '%-34s %10s %10s %8s\n' "" untuned tuned ratio
printf '%-34s %10s %10s %7.1fx\n' "read phase wall time (s)" "$untuned" "$tuned" "$(awk -v a="$untuned" -v b="$tuned" 'BEGIN { print a / b }')"
printf '%-34s %10s %10s %7.1fx\n' "pread calls (profile, run 1 vs 2)" "$p1" "$p2" "$(awk -v a="$p1" -v b="$p2" 'BEGIN { print a / b }')"
echo "tuned run's effective chunk cache: $cache"
echo "checksums identical: $sum_plain"
