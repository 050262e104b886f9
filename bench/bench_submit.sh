#!/usr/bin/env bash
# Benchmark: sbatch throughput with and without job_submit/paracloud on one running cluster, and the plugin's own latency.
#
#   sudo PARACLOUD_BUILD=/path/to/build bash bench/bench_submit.sh      (or: make -C bench bench-submit)
#
# One cluster (2 nodes) is started once. Each round restarts only slurmctld, with or without
# JobSubmitPlugins=paracloud, and times BENCH_SUBMITS sequential `sbatch --hold --wrap true`
# (held: nothing runs), then cancels them. Rounds alternate off/on (BENCH_ROUNDS pairs) so drift
# hits both sides alike. The plugin times every call inside slurmctld (100 ns histogram) and, with
# PARACLOUD_JOB_SUBMIT_TIMING=N in slurmctld's environment, logs p50/p90/p99/max every N calls.
# Prints each round, the mean rates, their ratio (target >= 0.95) and the plugin's latency.
set -euo pipefail
root=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${PARACLOUD_BUILD:-$root/build}
N=${BENCH_SUBMITS:-500}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=10
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (scripts/cluster.sh runs the Slurm daemons as root)"
for c in slurmctld slurmd munged sbatch scancel squeue; do command -v "$c" >/dev/null || skip "$c not installed"; done
plugin_dir=$build/plugins/job_submit/paracloud/.libs
[ -f "$plugin_dir/job_submit_paracloud.so" ] || skip "plugin not built: make -C $build/plugins/job_submit/paracloud"
PC=$build/cli/paracloud
[ -x "$PC" ] || skip "paracloud CLI not built: make -C $build/cli"
cluster=$root/scripts/cluster.sh

work=$(mktemp -d /tmp/pc-bench-submit.XXXXXX)
chmod 755 "$work"
run=$work/cluster
trap 'bash "$cluster" down --run-dir "$run" >/dev/null 2>&1; rm -rf "$work"' EXIT

conf=$work/paracloud.conf
cat >"$conf" <<EOF
ClusterName=pcbench
LedgerPath=$work/ledger.db
SiteName=pcbench
PriceName=pcbench:batch cpu=0.10 mem=0.01 gres/gpu=2.00
PriceName=pcbench:* cpu=0.05
EOF
{
  "$PC" --conf "$conf" bank account add bench && "$PC" --conf "$conf" bank user add root -A bench --default &&
    "$PC" --conf "$conf" bank deposit bench 1000000
} >"$work/bank.log" 2>&1 || { cat "$work/bank.log"; exit 1; }

export PARACLOUD_JOB_SUBMIT_TIMING=$((WARMUP + N))  # one latency line per round, over all its calls
bash "$cluster" up --run-dir "$run" --name pcbench --nodes 2 --plugin-dir "$plugin_dir" --paracloud-conf "$conf" \
  >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
eval "$(bash "$cluster" env --run-dir "$run")"
sconf=$run/etc/slurm.conf
ctld_log=$run/log/slurmctld.log

# round MODE: restart slurmctld with (on) or without (off) the plugin, time N submissions.
round() {
  sed -i '/^JobSubmitPlugins=/d' "$sconf"
  [ "$1" = on ] && echo "JobSubmitPlugins=paracloud" >>"$sconf"
  bash "$cluster" restart-ctld --run-dir "$run" >>"$work/restart.log" 2>&1
  for _ in $(seq 1 40); do [ "$1" = off ] || grep -q 'partition facts loaded' <(tail -n 20 "$ctld_log") && break; sleep 0.25; done
  for ((i = 0; i < WARMUP; i++)); do sbatch --hold --wrap true >/dev/null; done
  local t0 t1
  t0=$(date +%s.%N)
  for ((i = 0; i < N; i++)); do sbatch -Q --hold --wrap true >/dev/null; done
  t1=$(date +%s.%N)
  scancel -u root
  python3 -c "print(f'{$N / ($t1 - $t0):.1f}')"
}

declare -a off_rates on_rates
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in off on; do
    rate=$(round "$mode")
    echo "round $r $mode: $rate submissions/s ($N x sbatch --hold)"
    if [ "$mode" = on ]; then on_rates+=("$rate"); else off_rates+=("$rate"); fi
  done
done
grep 'job_submit/paracloud: latency' "$ctld_log" | sed 's/^/slurmctld: /'
python3 - "${off_rates[*]}" "${on_rates[*]}" <<'EOF'
import sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1:len(v) // 2 + 1]) / 2
mo, mn = sum(off) / len(off), sum(on) / len(on)
print(f"without plugin: mean {mo:.1f}, median {med(off):.1f} submissions/s over {len(off)} rounds")
print(f"with plugin:    mean {mn:.1f}, median {med(on):.1f} submissions/s over {len(on)} rounds")
print(f"ratio with/without: {mn / mo:.3f} of means, {med(on) / med(off):.3f} of medians (target >= 0.95)")
EOF
