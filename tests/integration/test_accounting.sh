#!/usr/bin/env bash
# Integration test of prep/paracloud + jobcomp/paracloud on a real slurmctld: exact charge, 20 jobs vs funds for 5, scancel, kill -9 of slurmctld with a pending record, broken paracloud.conf, NODE_FAIL refund.
# Run as root from scripts/run-tests.sh (PARACLOUD_BUILD = build tree, top_srcdir = source tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_accounting.sh
# Prices: cpu = 36 CNY/hour = 1 fen per CPU-second, so a run's cost in fen is CPUs x elapsed seconds.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm
command -v python3 >/dev/null || it_skip "python3 not installed"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
prep_dir=$build/plugins/prep/paracloud/.libs
comp_dir=$build/plugins/jobcomp/paracloud/.libs
[ -f "$prep_dir/prep_paracloud.so" ] || it_skip "prep/paracloud not built (needs scripts/fetch-slurm-src.sh, then make -C $build/plugins)"
[ -f "$comp_dir/jobcomp_paracloud.so" ] || it_skip "jobcomp/paracloud not built (make -C $build/plugins)"
PC=$build/cli/paracloud
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
it_setup 280

# ---------------------------------------------------------------- setup
W=$IT_DIR
mkdir -p "$W/acct" "$W/spool"
cd "$W" || it_fail "cd $W"  # jobs write slurm-N.out here, not in the source tree
conf=$W/paracloud.conf
write_conf() {
  cat >"$conf" <<EOF
ClusterName=pcacct
LedgerPath=$W/ledger.db
AccountingLog=$W/acct/accounting.jsonl
SpoolDir=$W/spool
LienGrace=0:10:00
RefundPolicy=NODE_FAIL
SiteName=pcacct
PriceName=pcacct:* cpu=36 mem=0 node=0
EOF
}
write_conf
export PARACLOUD_CONF=$conf
pc() { "$PC" --conf "$conf" "$@"; }
{
  pc bank account add rich && pc bank account add poor && pc bank account add broke &&
    pc bank user add root -A rich --default && pc bank user add root -A poor && pc bank user add root -A broke &&
    pc bank deposit rich 100 && pc bank deposit poor 3.00
} >"$W/bank.log" 2>&1 || { cat "$W/bank.log"; it_fail "funding the ledger"; }
LOG=$W/acct/accounting.jsonl

it_cluster_up --nodes 2 --cpus-per-node 4 --name pcacct --plugin-dir "$prep_dir:$comp_dir" \
  --paracloud-conf "$conf" --set PrEpPlugins=paracloud --set JobCompType=jobcomp/paracloud
CTLD_LOG=$IT_RUN/log/slurmctld.log

# rec JOBID FIELD...: fields of the job's records (one line per record, fields space-separated).
rec() {
  python3 - "$LOG" "$@" <<'EOF'
import json, sys
path, job, fields = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    r = json.loads(l)
    if r["job_id"] == job:
        print(" ".join(str(r[f] if f in r else r["keys"].get(f.split(".")[1]) if f.startswith("keys.") else "?") for f in fields))
EOF
}
nrec() { rec "$1" job_id | wc -l; }
# wait_rec JOBID [N] [SECONDS]: until the job has N records.
wait_rec() {
  local j=$1 n=${2:-1} limit=${3:-30} deadline=$((SECONDS + ${3:-30}))
  while [ $SECONDS -lt $deadline ]; do [ "$(nrec "$j")" -ge "$n" ] && return 0; sleep 0.3; done
  echo "# job $j: $(nrec "$j") records after $limit s, expected $n" >&2
  return 1
}
entries() {  # entries ACCOUNT KIND JOBID: amounts (major units) of the job's journal entries of KIND
  pc --json bank statement "$1" >"$W/stmt.json" || { echo "statement failed" >&2; return 1; }
  python3 - "$W/stmt.json" "$2" "pcacct:$3" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
rows = data["entries"] if isinstance(data, dict) else data
for e in rows:
    if e["kind"] == sys.argv[2] and e["job"] == sys.argv[3]:
        print(e["amount"])
EOF
}
fen() { python3 -c "import sys; print(round(float(sys.argv[1]) * 100))" "$1"; }
available() { pc --json bank balance "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(round(float(d["available"])*100))'; }
held() { pc --json bank balance "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(round(float(d["held"])*100))'; }
balance() { pc --json bank balance "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(round(float(d["balance"])*100))'; }
epoch() { date -d "$1" +%s; }  # scontrol prints local time without zone

# ---------------------------------------------------------------- 1. an affordable job is charged exactly
it_sbatch -A rich -t 1 -n 2 --wrap "sleep 3"
j1=$IT_JOB
it_check "job $j1 completes" it_wait_job "$j1" 40
it_check "job $j1 has one record" wait_rec "$j1"
read -r st cpus start end elapsed cost hold refund <<<"$(rec "$j1" state cpus start end elapsed cost hold refund)"
it_expect_eq "job $j1 record state" "$st" COMPLETED
it_expect_eq "job $j1 elapsed = end - start" "$elapsed" "$((end - start))"
it_expect_eq "job $j1 cost = 2 CPUs x elapsed x 1 fen" "$cost" "$((2 * elapsed))"
it_expect_eq "job $j1 hold = 2 CPUs x 60 s" "$hold" 120
sc=$(scontrol -o show job "$j1")
s_start=$(epoch "$(echo "$sc" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)")
s_end=$(epoch "$(echo "$sc" | grep -o 'EndTime=[^ ]*' | cut -d= -f2)")
it_expect_eq "job $j1 record start/end = scontrol's" "$start $end" "$s_start $s_end"
it_expect_eq "job $j1 ledger charge" "$(fen "$(entries rich charge "$j1")")" "$cost"
it_expect_eq "rich: hold released after the charge" "$(held rich)" 0

# ---------------------------------------------------------------- 2. scancel mid-run charges the elapsed time only
it_sbatch -A rich -t 1 -n 1 --wrap "sleep 60"
j2=$IT_JOB
for _ in $(seq 50); do [ "$(it_job_state "$j2")" = RUNNING ] && break; sleep 0.2; done
sleep 3
scancel "$j2"
it_check "job $j2 has one record" wait_rec "$j2"
read -r st start end elapsed cost <<<"$(rec "$j2" state start end elapsed cost)"
it_expect_eq "job $j2 record state" "$st" CANCELLED
it_check "job $j2 elapsed $elapsed s is the time until scancel (3..10 s)" test "$elapsed" -ge 3 -a "$elapsed" -le 10
it_expect_eq "job $j2 cost = 1 CPU x elapsed" "$cost" "$elapsed"
it_expect_eq "job $j2 ledger charge" "$(fen "$(entries rich charge "$j2")")" "$cost"

# ---------------------------------------------------------------- 3. 20 jobs at once against funds for 5
# Each holds 1 CPU x 60 s = 60 fen; poor has 300 fen. 8 CPUs: 8 start, 5 are held, the rest are
# refused while those 5 run (8 s), so exactly 5 run; the others stay pending, held, with the reason.
jobs20=()
for _ in $(seq 20); do it_sbatch -A poor -t 1 -n 1 --wrap "sleep 8"; jobs20+=("$IT_JOB"); done
min_avail=999999
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  a=$(available poor)
  [ "$a" -lt "$min_avail" ] && min_avail=$a
  busy=$(squeue -h -A poor -t RUNNING,CONFIGURING,COMPLETING -o %i | wc -l)
  held_n=$(squeue -h -A poor -t PENDING -o '%r' | grep -c 'paracloud: insufficient funds')
  [ "$busy" -eq 0 ] && [ "$held_n" -eq 15 ] && break
  sleep 0.5
done
it_expect_eq "jobs held with the paracloud reason" "$held_n" 15
reason=$(squeue -h -A poor -t PENDING -o '%r' | head -1)
case "$reason" in
  *"needs up to 0.60 CNY, account poor has 0.00 CNY available - deposit funds, then scontrol release"*) it_ok "reason: $reason" ;;
  *) it_bad "reason lacks the amounts: '$reason'" ;;
esac
held_job=$(squeue -h -A poor -t PENDING -o '%i' | head -1)
it_expect_eq "a refused job has priority 0 (held)" "$(scontrol -o show job "$held_job" | grep -o ' Priority=[0-9]*')" " Priority=0"
ran=0 sum=0
for j in "${jobs20[@]}"; do
  wait_rec "$j" 1 20 || true
  c=$(rec "$j" state cost | awk '$1 == "COMPLETED" { print $2 }')
  if [ -n "$c" ]; then ran=$((ran + 1)); sum=$((sum + c)); fi
done
it_expect_eq "runs of the 20 that ran" "$ran" 5
it_check "poor's available funds never went below 0 (lowest seen: $min_avail fen)" test "$min_avail" -ge 0
it_expect_eq "poor's balance = 300 fen - the 5 charges" "$(balance poor)" "$((300 - sum))"
it_expect_eq "poor: no hold left" "$(held poor)" 0
# An interactive job that cannot be covered: Slurm cannot requeue it, so it is killed; srun says why.
out=$(timeout 60 srun -A broke -t 1 -n 1 true 2>&1)
rc=$?
it_check "srun without funds fails (exit $rc)" test "$rc" -ne 0
case "$out" in
  *"insufficient funds"*) it_ok "srun is told why: $(echo "$out" | grep -m1 'insufficient funds')" ;;
  *) it_bad "srun output lacks the reason: $out" ;;
esac
refused_cost=$(rec "$held_job" state cost launched)
it_expect_eq "the refused run's record (state cost launched)" "$refused_cost" "REQUEUED 0 False"

# ---------------------------------------------------------------- 4. kill -9 slurmctld with a charged run whose record is pending
# The AccountingLog's directory disappears: runs are charged but their records cannot be written,
# so they wait in the spool. Then slurmctld is killed while 2 more jobs run, the directory comes
# back, and the restarted controller settles everything: one charge and one record per run.
mv "$W/acct" "$W/acct.away"
it_sbatch -A rich -t 1 -n 1 --wrap "sleep 2"
k1=$IT_JOB
it_check "job $k1 completes" it_wait_job "$k1" 30
sleep 1
it_check "slurmctld log says the record waits" grep -q "JobId=$k1 not settled yet" "$CTLD_LOG"
it_sbatch -A rich -t 1 -n 1 --wrap "sleep 12"
k2=$IT_JOB
it_sbatch -A rich -t 1 -n 1 --wrap "sleep 12"
k3=$IT_JOB
for _ in $(seq 50); do
  [ "$(it_job_state "$k2")" = RUNNING ] && [ "$(it_job_state "$k3")" = RUNNING ] && break
  sleep 0.2
done
# Let slurmctld save its job state (at most every 5 s): a run started less than that before a
# kill -9 is lost by Slurm itself (never reported to jobcomp; its hold expires unused).
sleep 7
timeout 100 "$IT_CLUSTER" restart-ctld --kill --run-dir "$IT_RUN" >"$W/restart.log" 2>&1 &
restart_pid=$!
sleep 1
mv "$W/acct.away" "$W/acct"
wait $restart_pid || { cat "$W/restart.log"; it_fail "restart-ctld --kill failed"; }
for j in $k1 $k2 $k3; do
  it_check "job $j settled after the restart" wait_rec "$j" 1 40
done
sleep 2
for j in $k1 $k2 $k3; do
  it_expect_eq "job $j: records" "$(nrec "$j")" 1
  it_expect_eq "job $j: ledger charges" "$(entries rich charge "$j" | wc -l)" 1
  it_expect_eq "job $j: record cost = ledger charge" "$(rec "$j" cost)" "$(fen "$(entries rich charge "$j")")"
done
it_check "slurmctld replayed the spool" grep -q "jobcomp/paracloud: replaying" "$CTLD_LOG"
it_check "job $k1's charge was replayed, its record written once" \
  grep -q "jobcomp/paracloud: JobId=$k1 COMPLETED: .*\[ledger replay\]$" "$CTLD_LOG"
it_expect_eq "rich: no hold left" "$(held rich)" 0

# ---------------------------------------------------------------- 5. a broken paracloud.conf: clear error, jobs refused, not run for free
echo "PriceName=pcacct:batch cpu=lots" >>"$conf"
timeout 100 "$IT_CLUSTER" restart-ctld --run-dir "$IT_RUN" >"$W/restart2.log" 2>&1 || { cat "$W/restart2.log"; it_fail "restart-ctld failed"; }
it_check "slurmctld log names the file, line and key" \
  grep -qE "prep/paracloud: cannot use .*paracloud.conf: .*paracloud.conf:9: .*cpu" "$CTLD_LOG"
it_sbatch -A rich -t 1 -n 1 --wrap "sleep 1"
b1=$IT_JOB
r=
for _ in $(seq 50); do r=$(squeue -h -j "$b1" -o '%T %r'); case "$r" in *paracloud*) break ;; esac; sleep 0.2; done
case "$r" in
  "PENDING paracloud: cannot hold funds for job $b1: "*) it_ok "broken config: job held: $r" ;;
  *) it_bad "broken config: job $b1 not held with a reason: '$r'" ;;
esac
write_conf  # fixed: reloaded on the next start without a restart
scontrol release "$b1"
scontrol update jobid="$b1" starttime=now
it_check "after the fix, job $b1 runs" it_wait_job "$b1" 30
it_check "job $b1 is charged" wait_rec "$b1" 2 20

# ---------------------------------------------------------------- 6. NODE_FAIL is refunded per RefundPolicy
it_sbatch -A rich -t 1 -n 1 -w node2 --no-requeue --wrap "sleep 60"
n1=$IT_JOB
for _ in $(seq 50); do [ "$(it_job_state "$n1")" = RUNNING ] && break; sleep 0.2; done
sleep 2
kill -9 "$(cat "$IT_RUN/pid/slurmd.node2.pid")"
scontrol update nodename=node2 state=down reason=paracloud-test
it_check "job $n1 has one record" wait_rec "$n1" 1 30
read -r st cost refund net rkey <<<"$(rec "$n1" state cost refund net keys.refund)"
it_expect_eq "job $n1 state" "$st" NODE_FAIL
it_check "job $n1 cost $cost > 0" test "$cost" -gt 0
it_expect_eq "job $n1 refund = cost, net 0" "$refund $net" "$cost 0"
it_expect_eq "job $n1 ledger refund" "$(fen "$(entries rich refund "$n1")")" "$cost"
it_expect_eq "refund key" "$rkey" "refund:pcacct:$n1:$(rec "$n1" start)"

# ---------------------------------------------------------------- report over what happened
out=$(pc report --by account --csv)
it_check "report has a line per account" test "$(echo "$out" | grep -c '^\(rich\|poor\),')" -eq 2
poor_line=$(echo "$out" | grep '^poor,')
it_expect_eq "report: poor's net = what its balance lost" "$(fen "$(echo "$poor_line" | cut -d, -f6)")" "$((300 - $(balance poor)))"

it_finish
