#!/usr/bin/env bash
# bench-bind (issue 11 item 6): STREAM-triad bandwidth (MPI ranks x OpenMP threads) with paracloud's
# binding (PARACLOUD_BIND=auto over --bind-to none) against the same job unbound (--bind-to none)
# and with mpirun's default binding, interleaved REPS times, medians and ratios side by side; and
# the start-up cost binding adds to a rank (MPI_Init/MPI_Finalize only, PARACLOUD_BIND=keep vs auto,
# plus the per-rank time the runtime reports). Usage: bind_bench.sh TRIAD
# Environment: PC_RT, MPIRUN, NP (default: the core count), REPS (5), N (elements per rank), ITERS.
set -eu
prog=$1
np=${NP:-$(nproc)}; reps=${REPS:-5}; n=${N:-4000000}; iters=${ITERS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
unset OMP_NUM_THREADS OMP_PLACES OMP_PROC_BIND PARACLOUD_BIND
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
numa=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
echo "bench-bind: $(nproc) PUs, $numa NUMA node(s), np $np, $n doubles per array per rank, $iters triads, $reps rounds"
[ "$numa" -ge 2 ] || echo "note: one NUMA node here: binding cannot show its NUMA gain (the issue's 1.3x needs >= 2)"
run() {  # mode -> GB/s
  case $1 in
    unbound) $MPIRUN --oversubscribe -np "$np" --bind-to none "$prog" "$n" "$iters" ;;
    default) $MPIRUN --oversubscribe -np "$np" "$prog" "$n" "$iters" ;;
    auto) $MPIRUN --oversubscribe -np "$np" --bind-to none -x LD_PRELOAD="$PC_RT" -x PARACLOUD_PROFILE="$work/p.json" \
            "$prog" "$n" "$iters" ;;
  esac | sed -n 's/^triad_GBps \([0-9.]*\).*/\1/p'
}
start() {  # bind word -> seconds for one job of np ranks doing MPI_Init/MPI_Finalize
  local t0 t1
  t0=$(date +%s.%N)
  $MPIRUN --oversubscribe -np "$np" --bind-to none -x LD_PRELOAD="$PC_RT" -x PARACLOUD_BIND="$1,verbose" \
    -x PARACLOUD_PROFILE="$work/p.json" "$prog" init 2>>"$work/verbose.$1"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'
}
for ((r = 0; r < reps; r++)); do
  for m in unbound default auto; do run $m >> "$work/$m"; done
  start keep >> "$work/start.keep"; start auto >> "$work/start.auto"
done
div() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0 ? a / b : 0)}'; }
median() { sort -g "$1" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
u=$(median "$work/unbound"); d=$(median "$work/default"); a=$(median "$work/auto")
printf '%-28s %10s\n' "mode" "triad GB/s (median of $reps)"
printf '%-28s %10.3f\n' "unbound (--bind-to none)" "$u" "mpirun default binding" "$d" "paracloud auto" "$a"
printf 'ratio auto/unbound %.3f   auto/default %.3f\n' "$(div "$a" "$u")" "$(div "$a" "$d")"
sk=$(median "$work/start.keep"); sa=$(median "$work/start.auto")
ms=$(sed -n 's/.* (\(.*\), \([0-9.]*\) ms).*/\2/p' "$work/verbose.auto" | sort -g | awk '{s+=$1; v[NR]=$1} END {if (NR) printf "%.2f mean, %.2f max over %d ranks", s/NR, v[NR], NR}')
printf 'start-up (MPI_Init+Finalize job of %d ranks): keep %.3f s, auto %.3f s, ratio %.3f; binding inside a rank: %s ms\n' \
  "$np" "$sk" "$sa" "$(div "$sa" "$sk")" "$ms"
