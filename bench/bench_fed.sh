#!/usr/bin/env bash
# Benchmark: sbatch throughput through a 3-cluster Slurm federation with and without paracloud routing, and job_submit's latency with 3 sites.
#
#   sudo PARACLOUD_BUILD=/path/to/build bash bench/bench_fed.sh      (or: make -C bench bench-fed)
#
# One federation a, b, c (scripts/federation.sh, 1 node each) runs job_submit/paracloud on every
# controller. "routing": each paracloud.conf names the 3 sites, so the origin a routes every job
# (cheapest: to b) and offers it to that cluster only. "no routing": each paracloud.conf names only
# its own site, so job_submit only quotes and Slurm offers every job to all 3 clusters (its default).
# The configuration is swapped in place (job_submit re-reads it within a second; no restart, so the
# federation stays synced). Each round times BENCH_SUBMITS sequential
# `sbatch --begin=now+1hour --wrap true` on a (pending, but sent to the siblings like any job;
# --hold would keep it on the origin), then cancels them. Rounds alternate routing / no routing
# (BENCH_ROUNDS pairs; BENCH_FIRST=route (default) or plain picks which comes first).
# PARACLOUD_JOB_SUBMIT_TIMING makes each controller log job_submit's p50/p90/p99 over the warm-up
# plus the first round (a: the origin's calls; b: the siblings' re-runs): run once with each
# BENCH_FIRST to compare the latency with and without routing. Prints every round, both mean
# rates and their ratio.
set -euo pipefail
root=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${PARACLOUD_BUILD:-$root/build}
N=${BENCH_SUBMITS:-200}
ROUNDS=${BENCH_ROUNDS:-2}
FIRST=${BENCH_FIRST:-route}
case "$FIRST" in route) ORDER="route plain" ;; plain) ORDER="plain route" ;; *) echo "BENCH_FIRST=$FIRST: use route or plain" >&2; exit 2 ;; esac
WARMUP=10
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (scripts/cluster.sh runs the Slurm daemons as root)"
for c in slurmctld slurmd munged sbatch scancel slurmdbd sacctmgr mariadbd; do command -v "$c" >/dev/null || skip "$c not installed"; done
plugin_dir=$build/plugins/job_submit/paracloud/.libs
[ -f "$plugin_dir/job_submit_paracloud.so" ] || skip "plugin not built: make -C $build/plugins/job_submit/paracloud"
PC=$build/cli/paracloud
[ -x "$PC" ] || skip "paracloud CLI not built: make -C $build/cli"
fedsh=$root/scripts/federation.sh

work=$(mktemp -d /tmp/pc-bench-fed.XXXXXX)
chmod 755 "$work"
fed=$work/fed
trap 'bash "$fedsh" down --run-root "$fed" >/dev/null 2>&1; rm -rf "$work"' EXIT

# conf CLUSTER MODE: the paracloud.conf of CLUSTER with 3 sites (route) or its own only (plain).
write_conf() {
  local c=$1 mode=$2 s
  {
    echo "LedgerPath=$work/ledger.db"
    echo "SiteStateDir=$work/sites"
    echo "SiteStateMaxAge=3600"
    echo "DefaultTimeLimit=1:00:00"
    for s in a b c; do
      [ "$mode" = route ] || [ "$s" = "$c" ] || continue
      echo "SiteName=$s"
    done
    for s in a b c; do
      [ "$mode" = route ] || [ "$s" = "$c" ] || continue
      echo "PriceName=$s:* cpu=$(case $s in a) echo 3.00 ;; b) echo 1.00 ;; c) echo 2.00 ;; esac)"
    done
  } >"$work/pc-$c.tmp"
  mv "$work/pc-$c.tmp" "$work/pc-$c.conf"  # a new inode: job_submit sees the change at once
}
for c in a b c; do write_conf $c "$FIRST"; done
{
  "$PC" --conf "$work/pc-a.conf" bank account add bench && "$PC" --conf "$work/pc-a.conf" bank user add root -A bench --default &&
    "$PC" --conf "$work/pc-a.conf" bank deposit bench 1000000
} >"$work/bank.log" 2>&1 || { cat "$work/bank.log"; exit 1; }

export PARACLOUD_JOB_SUBMIT_TIMING=$((WARMUP + N))
bash "$fedsh" up --run-root "$fed" --clusters a,b,c --nodes 1 --plugin-dir "$plugin_dir" \
  --set JobSubmitPlugins=paracloud --for a "--paracloud-conf $work/pc-a.conf" \
  --for b "--paracloud-conf $work/pc-b.conf" --for c "--paracloud-conf $work/pc-c.conf" \
  >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
eval "$(bash "$fedsh" env a --run-root "$fed")"
write_conf a route  # the state of all 3 sites
"$PC" --conf "$work/pc-a.conf" sites collect >"$work/collect.log" 2>&1 || { cat "$work/collect.log"; exit 1; }
write_conf a "$FIRST"

cancel_all() {
  local c
  for c in a b c; do SLURM_CONF=$fed/$c/etc/slurm.conf timeout 30 scancel -u root 2>/dev/null || true; done
  sleep 1
}
# round MODE: N submissions on a with that configuration; prints submissions/s.
warm=0
round() {
  local c t0 t1
  for c in a b c; do write_conf $c "$1"; done
  sleep 1.2  # job_submit checks paracloud.conf at most once a second
  if [ $warm = 0 ]; then
    for ((i = 0; i < WARMUP; i++)); do sbatch -Q --begin=now+1hour --wrap true >/dev/null; done
    warm=1
  fi
  t0=$(date +%s.%N)
  for ((i = 0; i < N; i++)); do sbatch -Q --begin=now+1hour --wrap true >/dev/null; done
  t1=$(date +%s.%N)
  cancel_all
  python3 -c "print(f'{$N / ($t1 - $t0):.1f}')"
}

route_rates=() plain_rates=()
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in $ORDER; do
    rate=$(round "$mode")
    echo "round $r $( [ "$mode" = route ] && echo 'routing:   ' || echo 'no routing:') $rate submissions/s ($N x sbatch on a)"
    if [ "$mode" = route ]; then route_rates+=("$rate"); else plain_rates+=("$rate"); fi
  done
done
for c in a b; do
  grep -m1 'job_submit/paracloud: latency' "$fed/$c/log/slurmctld.log" |
    sed "s/^/slurmctld $c, first $((WARMUP + N)) calls ($( [ "$FIRST" = route ] && echo 'routing, 3 sites' || echo 'no routing')): /" || true
done
echo "routes seen on a: $(grep -c 'route cheapest (RoutePolicy) -> b,' "$fed/a/log/slurmctld.log") (cheapest -> b)"
python3 - "${route_rates[*]}" "${plain_rates[*]}" <<'EOF'
import sys
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
mo, mn = sum(off) / len(off), sum(on) / len(on)
print(f"{'':14}{'no routing':>12}{'routing':>12}{'ratio':>8}")
print(f"{'submissions/s':14}{mo:12.1f}{mn:12.1f}{mn / mo:8.3f}   (means over {len(on)} rounds each)")
EOF
