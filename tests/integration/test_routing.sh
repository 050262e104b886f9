#!/usr/bin/env bash
# Integration test of routing between federated sites: 3 real clusters a, b, c in one Slurm federation (scripts/federation.sh) with job_submit/prep/jobcomp paracloud: cheapest site, a feature only c has, probes and sibling re-runs agree, no feasible site, two controllers charging one ledger reconcile with sacct, site b down.
# Run as root from scripts/run-tests.sh (PARACLOUD_BUILD = build tree, top_srcdir = source tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_routing.sh
# Prices (per CPU-second, so a run costs CPUs x elapsed x rate fen): a 3 fen, b 1 fen, c 2 fen.
# Ledger: one MariaDB ledger (LedgerPath=mysql://..., in the federation's own MariaDB) shared by the
# three controllers when the build has MariaDB support, else one SQLite file (they run on this one
# machine); ROUTING_TEST_LEDGER=sqlite|mariadb forces one.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm dbd
command -v python3 >/dev/null || it_skip "python3 not installed"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
js_dir=$build/plugins/job_submit/paracloud/.libs
prep_dir=$build/plugins/prep/paracloud/.libs
comp_dir=$build/plugins/jobcomp/paracloud/.libs
spank_so=$build/plugins/spank/.libs/spank_paracloud.so
for f in "$js_dir/job_submit_paracloud.so" "$prep_dir/prep_paracloud.so" "$comp_dir/jobcomp_paracloud.so" "$spank_so"; do
  [ -f "$f" ] || it_skip "$f not built (prep/jobcomp need scripts/fetch-slurm-src.sh; then make -C $build/plugins)"
done
PC=$build/cli/paracloud
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
FEDSH=$IT_ROOT/scripts/federation.sh
it_setup 300
export PARACLOUD_JOB_SUBMIT_TIMING=10  # job_submit logs its latency every 10 calls (see the end)

# ---------------------------------------------------------------- setup
W=$IT_DIR
ROOT=$W/fed
# shellcheck disable=SC2034  # read by it_cleanup (lib.sh)
IT_RUNS=("$ROOT/c" "$ROOT/b" "$ROOT/a")  # torn down by it_cleanup; a (slurmdbd, MariaDB) last
ledger_kind=${ROUTING_TEST_LEDGER:-$(grep -q '^#define HAVE_MARIADB 1' "$build/config.h" 2>/dev/null && echo mariadb || echo sqlite)}
case "$ledger_kind" in
  sqlite) ledger_path=$W/ledger.db ;;
  mariadb) ledger_path="mysql://root@localhost/paracloud_ledger?socket=$ROOT/a/mysql/mysqld.sock" ;;
  *) it_fail "ROUTING_TEST_LEDGER=$ledger_kind: use sqlite or mariadb" ;;
esac
it_log "ledger: $ledger_kind ($ledger_path)"
mkdir -p "$W/sites"
cd "$W" || it_fail "cd $W"  # jobs write slurm-N.out here
for c in a b c; do
  mkdir -p "$W/spool-$c"
  cat >"$W/pc-$c.conf" <<EOF
LedgerPath=$ledger_path
AccountingLog=$W/acct-$c.jsonl
SpoolDir=$W/spool-$c
LienGrace=0:10:00
DefaultTimeLimit=0:05:00
SiteStateDir=$W/sites
SiteStateMaxAge=600
SiteQueryTimeout=3
RoutePolicy=cheapest
RouteTopK=2
SiteName=a
SiteName=b
SiteName=c
PartitionName=a:batch CpusPerNode=4
PartitionName=b:batch CpusPerNode=4
PartitionName=c:batch CpusPerNode=4 Features=avx512
PriceName=a:* cpu=108 mem=0 node=0
PriceName=b:* cpu=36 mem=0 node=0
PriceName=c:* cpu=72 mem=0 node=0
EOF
done
echo "optional $spank_so default=off" >"$W/plugstack.conf"
pc() { "$PC" --conf "$W/pc-a.conf" "$@"; }

t0=$SECONDS
timeout 200 "$FEDSH" up --run-root "$ROOT" --clusters a,b,c --nodes 2 --cpus-per-node 4 \
  --plugin-dir "$js_dir:$prep_dir:$comp_dir" --plugstack "$W/plugstack.conf" \
  --set JobSubmitPlugins=paracloud --set PrEpPlugins=paracloud --set JobCompType=jobcomp/paracloud \
  --for a "--paracloud-conf $W/pc-a.conf" --for b "--paracloud-conf $W/pc-b.conf" \
  --for c "--paracloud-conf $W/pc-c.conf" >"$W/fed-up.log" 2>&1 || { cat "$W/fed-up.log"; it_fail "federation up"; }
it_ok "federation a,b,c up and synced in $((SECONDS - t0)) s"
if [ "$ledger_kind" = mariadb ]; then  # the controllers open the ledger at their first job
  mariadb --no-defaults -S "$ROOT/a/mysql/mysqld.sock" -u root \
    -e "CREATE DATABASE paracloud_ledger CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" || it_fail "creating the ledger database"
fi
{
  pc bank account add proj && pc bank user add root -A proj --default && pc bank deposit proj 1000
} >"$W/bank.log" 2>&1 || { cat "$W/bank.log"; it_fail "funding the ledger ($ledger_kind)"; }
conf_of() { echo "$ROOT/$1/etc/slurm.conf"; }
ctld_log() { echo "$ROOT/$1/log/slurmctld.log"; }
SLURM_CONF=$(conf_of c) scontrol update nodename=node[1-2] availablefeatures=avx512 activefeatures=avx512 \
  || it_fail "giving c's nodes the feature avx512"
eval "$("$FEDSH" env a --run-root "$ROOT")"  # the user submits on a
for c in a b c; do
  grep -q "job_submit/paracloud: loaded" "$(ctld_log $c)" || it_fail "job_submit/paracloud not loaded on $c"
done
pc sites collect >"$W/collect.log" 2>&1 || { cat "$W/collect.log"; it_fail "paracloud sites collect"; }
sleep 1.5  # job_submit re-reads the state files every second

# rec JOBID EXPR...: python expressions over the job's record r (in any cluster's log), one line.
rec() {
  python3 - "$W" "$@" <<'EOF'
import glob, json, sys
w, job, exprs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for path in sorted(glob.glob(w + "/acct-*.jsonl")):
    for line in open(path):
        r = json.loads(line)
        if r["job_id"] == job:
            print(" ".join(str(eval(e, {"r": r, "json": json})) for e in exprs))
EOF
}
wait_rec() {  # wait_rec JOBID [SECONDS]
  local deadline=$((SECONDS + ${2:-40}))
  while [ $SECONDS -lt $deadline ]; do [ -n "$(rec "$1" 1)" ] && return 0; sleep 0.3; done
  echo "# job $1: no accounting record after ${2:-40} s" >&2
  return 1
}
submit() {  # submit ARGS...: sbatch on the current SLURM_CONF; sets JOB
  local out
  out=$(timeout 30 sbatch --parsable "$@" 2>&1) || { it_bad "sbatch $*: $out"; JOB=0; return 1; }
  JOB=${out%%;*}
}
sacct_of() {  # sacct_of CLUSTER JOBID FIELDS: sacct -M CLUSTER line for the job
  timeout 10 sacct -M "$1" -X -n -P -j "$2" -o "$3" 2>/dev/null | head -1
}
expect_contains() { case "$2" in *"$3"*) it_ok "$1" ;; *) it_bad "$1: '$2' lacks '$3'" ;; esac; }
route_lines() { grep -c "job_submit/paracloud: uid 0: route $1" "$(ctld_log a)"; }

# ---------------------------------------------------------------- 1. the cheapest feasible site (b) runs the job
n_route_b=$(route_lines "cheapest (RoutePolicy) -> b,")
submit -n 2 -t 5 --wrap "sleep 2"
j1=$JOB
it_check "job $j1 settled" wait_rec "$j1"
it_expect_eq "job $j1 ran on b (record)" "$(rec "$j1" "r['cluster']" "r['site']")" "b b"
it_expect_eq "job $j1 in sacct -M b" "$(sacct_of b "$j1" cluster,state)" "b|COMPLETED"
it_expect_eq "job $j1 route: origin a, offered to b, cheapest" \
  "$(rec "$j1" "r['route']['origin']" "r['route']['clusters']" "r['route']['policy']" "r['route']['selected']")" \
  "a ['b'] cheapest ['b']"
it_expect_eq "job $j1 route re-derived on b and agrees with a" \
  "$(rec "$j1" "r['route']['decided_on']" "r['route']['rederived']" "r['route']['agrees']")" "b True True"
it_expect_eq "job $j1 route ranks b, c, a" "$(rec "$j1" "[c['site'] for c in r['route']['candidates']]")" "['b', 'c', 'a']"
read -r cost hold elapsed <<<"$(rec "$j1" "r['cost']" "r['hold']" "r['elapsed']")"
it_expect_eq "job $j1 charged at b's price: 2 CPUs x ${elapsed} s x 1 fen" "$cost" "$((2 * elapsed))"
it_expect_eq "job $j1 held at b's price: 2 CPUs x 300 s x 1 fen" "$hold" 600
it_expect_eq "origin a logged the route" "$(route_lines "cheapest (RoutePolicy) -> b,")" "$((n_route_b + 1))"
expect_contains "b logged the sibling copy" "$(grep "sibling copy of JobId=$j1 " "$(ctld_log b)")" \
  "from a, allowed [\"b\"]: accepted (partition batch); re-derived route cheapest -> b agrees: yes"

# A job submitted on b (the cheapest) stays there: the record is the origin's own decision.
j1b_out=$(SLURM_CONF=$(conf_of b) timeout 30 sbatch --parsable -n 1 -t 5 --wrap "sleep 1" 2>&1) || it_bad "sbatch on b: $j1b_out"
j1b=${j1b_out%%;*}
it_check "job $j1b settled" wait_rec "$j1b"
it_expect_eq "job $j1b (submitted on b) ran on b with b's own decision" \
  "$(rec "$j1b" "r['cluster']" "r['route']['origin']" "r['route']['rederived']" "r['route']['clusters']")" "b b False ['b']"

# ---------------------------------------------------------------- 2. a feature only c has goes to c
submit -n 1 -t 5 -C avx512 --wrap "sleep 1"
j2=$JOB
it_check "job $j2 settled" wait_rec "$j2"
it_expect_eq "job $j2 (-C avx512) ran on c" "$(rec "$j2" "r['cluster']" "r['site']")" "c c"
it_expect_eq "job $j2 in sacct -M c" "$(sacct_of c "$j2" cluster,state)" "c|COMPLETED"
it_expect_eq "job $j2 route: only c feasible, a and b lack the feature" \
  "$(rec "$j2" "r['route']['clusters']" "sorted({(e['site'], e['reason']) for e in r['route']['excluded']})")" \
  "['c'] [('a', 'feature_missing'), ('b', 'feature_missing')]"
read -r cost elapsed <<<"$(rec "$j2" "r['cost']" "r['elapsed']")"
it_expect_eq "job $j2 charged at c's price: 1 CPU x ${elapsed} s x 2 fen" "$cost" "$((2 * elapsed))"

# ---------------------------------------------------------------- 3. probes and sibling re-runs agree
out=$(timeout 30 sbatch --test-only -n 2 -t 5 --wrap true 2>&1)
expect_contains "--test-only probe answered" "$out" "to start at"
it_expect_eq "the probe routed like the real job (cheapest -> b)" "$(route_lines "cheapest (RoutePolicy) -> b,")" "$((n_route_b + 2))"
submit --route=fastest -n 1 -t 5 --wrap "sleep 1"
j3=$JOB
it_check "job $j3 settled" wait_rec "$j3"
it_expect_eq "job $j3 --route=fastest raced on b and c" \
  "$(rec "$j3" "r['route']['policy']" "r['route']['policy_source']" "r['route']['clusters']" "r['route']['agrees']")" \
  "fastest --route ['b', 'c'] True"
it_check "job $j3 ran on b or c" test "$(rec "$j3" "r['cluster'] in ('b', 'c')")" = True
for c in b c; do
  expect_contains "$c re-derived job $j3's route and agrees" "$(grep "sibling copy of JobId=$j3 " "$(ctld_log $c)")" \
    "allowed [\"b\",\"c\"]: accepted (partition batch); re-derived route fastest -> b,c agrees: yes"
done
out=$(timeout 30 sbatch --route=bogus --wrap true 2>&1) && it_bad "--route=bogus accepted: $out"
expect_contains "--route=bogus refused by sbatch" "$out" "--route=bogus is not a routing policy"

# ---------------------------------------------------------------- 4. nothing feasible: a clear rejection
out=$(timeout 30 sbatch -n 1 -C h100 --wrap true 2>&1) && it_bad "infeasible job accepted: $out"
expect_contains "no site: rejected" "$out" "sbatch: error: paracloud: no site can run this job - "
for c in a b c; do expect_contains "no site: $c's reason" "$out" "$c: batch: constraint 'h100' not met"; done
expect_contains "no site: Slurm's code" "$out" "No eligible clusters for federated job"
out=$(timeout 30 sbatch -n 64 --wrap true 2>&1) && it_bad "64-CPU job accepted: $out"
for c in a b c; do expect_contains "no site (64 CPUs): $c's reason" "$out" "$c: batch: 16 nodes, at most 2"; done

# ---------------------------------------------------------------- 5. two controllers charge one ledger at once
many=()
for _ in 1 2 3 4 5 6; do
  submit -n 1 -t 5 --wrap "sleep 1" && many+=("$JOB")
  submit -n 1 -t 5 -C avx512 --wrap "sleep 1" && many+=("$JOB")
done
for j in "${many[@]}"; do wait_rec "$j" 60 || it_bad "job $j not settled"; done
pc --json bank statement proj >"$W/stmt.json" || it_bad "bank statement"
pc --json bank balance proj >"$W/balance.json" || it_bad "bank balance"
# slurmdbd learns of completions a little after the controllers: wait until it knows them all.
for _ in $(seq 60); do
  for c in b c; do SLURM_TIME_FORMAT=%s timeout 10 sacct -M "$c" -X -n -P -o jobid,cluster,state,elapsedraw,alloccpus,start,end; done >"$W/sacct.txt"
  n=0
  for j in "${many[@]}"; do grep -q "^$j|.*|COMPLETED|" "$W/sacct.txt" && n=$((n + 1)); done
  [ "$n" -eq "${#many[@]}" ] && break
  sleep 0.5
done
recon=$(python3 - "$W" "${many[@]}" "$j1" "$j1b" "$j2" "$j3" <<'EOF'
import glob, json, sys
w, jobs = sys.argv[1], [int(j) for j in sys.argv[2:]]
rate = {"a": 3, "b": 1, "c": 2}
recs = {}
for path in glob.glob(w + "/acct-*.jsonl"):
    for line in open(path):
        r = json.loads(line)
        recs[r["job_id"]] = r
sacct = {}
for line in open(w + "/sacct.txt"):
    jid, cl, st, el, cpus, start, end = line.strip().split("|")
    if st == "COMPLETED":
        sacct[int(jid)] = (cl, int(el), int(cpus), int(start), int(end))
stmt = json.load(open(w + "/stmt.json"))
rows = stmt["entries"] if isinstance(stmt, dict) else stmt
charges = {}
for e in rows:
    if e["kind"] == "charge":
        charges.setdefault(e["job"], []).append(round(float(e["amount"]) * 100))
bad = []
for j in jobs:
    if j not in sacct: bad.append(f"{j}: not COMPLETED in sacct -M b,c"); continue
    cl, el, cpus, start, end = sacct[j]
    r = recs.get(j)
    if not r: bad.append(f"{j}: no record"); continue
    # paracloud charges end - start - suspended; Slurm counts the PrologSlurmctld time (the hold)
    # as suspended time of the job (tot_sus_time), sacct's Elapsed does not subtract it.
    want = rate[cl] * (el - r["suspended"]) * cpus
    if (r["cluster"], r["start"], r["end"], r["cost"]) != (cl, start, end, want):
        bad.append(f"{j}: record {(r['cluster'], r['start'], r['end'], r['cost'])} != sacct {(cl, start, end, want)}")
    if charges.get(f"{cl}:{j}") != [want]: bad.append(f"{j}: ledger {charges.get(f'{cl}:{j}')} != [{want}] on {cl}")
clusters = sorted({sacct[j][0] for j in jobs if j in sacct})
bal = json.load(open(w + "/balance.json")); bal = bal[0] if isinstance(bal, list) else bal
total = sum(sum(v) for v in charges.values())
if round(float(bal["balance"]) * 100) != 100000 - total: bad.append(f"balance {bal['balance']} != 1000.00 - {total} fen")
if round(float(bal["held"]) * 100) != 0: bad.append(f"still held: {bal['held']}")
print("ok" if not bad else "|".join(bad).replace(" ", "_"), len(jobs), ",".join(clusters), total)
EOF
)
read -r verdict njobs clusters total <<<"$recon"
it_expect_eq "$ledger_kind ledger, records and sacct reconcile exactly for $njobs jobs on $clusters (charges $total fen)" "$verdict" ok
it_expect_eq "both b and c charged concurrently" "$clusters" "b,c"

# ---------------------------------------------------------------- 5b. the job's --budget reaches the router
out=$(timeout 30 sbatch -n 1 -t 5 -C avx512 --budget=4.00 --wrap true 2>&1) && it_bad "job over its budget accepted: $out"
expect_contains "--budget=4.00 on c (6.00): refused, c named" "$out" "c: batch: worst-case cost 6.00 CNY over the budget of 4.00 CNY"
submit -n 1 -t 5 -C avx512 --budget=7.00 --wrap "sleep 1"
jbud=$JOB
it_check "job $jbud settled" wait_rec "$jbud"
it_expect_eq "job $jbud (--budget=7.00) ran on c; budget in its record and its route" \
  "$(rec "$jbud" "r['cluster']" "r['budget']" "r['route']['budget_minor']")" "c 700 700"
out=$(timeout 30 sbatch -n 1 --budget=lots --wrap true 2>&1) && it_bad "--budget=lots accepted: $out"
expect_contains "--budget=lots refused by sbatch" "$out" "--budget=lots is not an amount"
out=$(timeout 30 sbatch -n 1 --budget=1.234 --wrap true 2>&1) && it_bad "--budget=1.234 accepted: $out"
expect_contains "--budget=1.234 refused: CNY has 2 decimals" "$out" "--budget=1.234 is not an amount of CNY"

# ---------------------------------------------------------------- 5c. the job's --deadline reaches the router
# b and c busy on all 8 CPUs for 10 minutes: a 2-minute job cannot end there within 8 minutes.
busy=()
for c in b c; do
  submit -M "$c" -N 2 -n 8 -t 10 --wrap "sleep 600" && busy+=("$JOB")
done
for _ in $(seq 60); do
  n=0
  for c in b c; do [ "$(timeout 10 squeue -M "$c" -h -t R -o %i | grep -c .)" -ge 1 ] && n=$((n + 1)); done
  [ $n -eq 2 ] && break
  sleep 0.5
done
it_expect_eq "b and c each run a job on all their CPUs" "$n" 2
pc sites collect >"$W/collect-busy.log" 2>&1 || { cat "$W/collect-busy.log"; it_bad "sites collect (busy)"; }
sleep 1.5
out=$(timeout 30 sbatch -M b,c -n 1 -t 2 --deadline=now+8minutes --wrap true 2>&1) && it_bad "job that misses its deadline on b and c accepted: $out"
expect_contains "--deadline on busy b,c: refused" "$out" "no site can run this job among the clusters you named (b,c)"
expect_contains "--deadline on busy b,c: b's reason" "$out" "b: batch: expected end"
expect_contains "--deadline on busy b,c: the deadline named" "$out" "after the deadline"
submit -n 1 -t 2 --deadline=now+8minutes --wrap "sleep 1"
jdl=$JOB
it_check "job $jdl settled" wait_rec "$jdl"
it_expect_eq "job $jdl (--deadline, b and c busy) ran on a, the dearest site" "$(rec "$jdl" "r['cluster']")" a
it_expect_eq "job $jdl record: b and c excluded for the deadline" \
  "$(rec "$jdl" "sorted({(e['site'], e['reason']) for e in r['route']['excluded']})" "r['route']['deadline'] > r['submit']")" \
  "[('b', 'misses_deadline'), ('c', 'misses_deadline')] True"
# route explain JOBID: the decision recorded at submission, from the job's AdminComment
out=$(pc route explain "$jdl" 2>&1) || it_bad "route explain $jdl: $out"
expect_contains "route explain $jdl: the recorded decision" "$out" "job $jdl: decided on a at"
expect_contains "route explain $jdl: offered to a" "$out" "offered to a"
expect_contains "route explain $jdl: the deadline" "$out" "misses_deadline"
src=$(pc --json route explain "$jdl" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["source"].split()[0], j["clusters"], j["rederived"])')
it_expect_eq "route explain --json $jdl: from squeue, the origin's own decision" "$src" "squeue ['a'] False"
out=$(pc route explain "$jdl" --rerank 2>&1)
expect_contains "route explain $jdl --rerank: ranked again, said so" "$out" "ranked again now (not the recorded decision) - job $jdl"
for j in "${busy[@]}"; do timeout 10 scancel "$j"; done
for j in "${busy[@]}"; do wait_rec "$j" 60 || it_bad "busy job $j not settled after scancel"; done

# ---------------------------------------------------------------- 6. site b down: excluded, the job runs elsewhere
"$FEDSH" stop-ctld b --run-root "$ROOT" >>"$W/fed-up.log" 2>&1 || it_bad "stopping b's slurmctld"
pc sites collect >"$W/collect2.log" 2>&1  # exits non-zero: b does not answer
expect_contains "collect marks b unreachable" "$(pc sites 2>&1)" "unreachable"
sleep 1.5
submit -n 1 -t 5 --wrap "sleep 1"
j6=$JOB
it_check "job $j6 settled" wait_rec "$j6"
it_expect_eq "job $j6 ran on c (b down, c next cheapest)" "$(rec "$j6" "r['cluster']" "r['route']['clusters']")" "c ['c']"
it_expect_eq "job $j6 record: b excluded as unreachable" \
  "$(rec "$j6" "[(e['site'], e['reason']) for e in r['route']['excluded']]")" "[('b', 'unreachable')]"
it_expect_eq "job $j6 in sacct -M c" "$(sacct_of c "$j6" cluster,state)" "c|COMPLETED"
read -r cost elapsed <<<"$(rec "$j6" "r['cost']" "r['elapsed']")"
it_expect_eq "job $j6 charged at c's price" "$cost" "$((2 * elapsed))"

# ---------------------------------------------------------------- 7. reconcile: the ledger against slurmdbd
# After every job above (two controllers charging one ledger, cancelled busy jobs, b's controller
# down), paracloud reconcile finds nothing; then a copy of the ledger with two seeded faults.
for _ in $(seq 60); do  # slurmdbd learns of the last completions a little after the controllers
  timeout 10 sacct -M c -X -n -P -j "$j6" -o state 2>/dev/null | grep -q COMPLETED && break  # c ran it
  sleep 0.5
done
logs=(--log "$W/acct-a.jsonl" --log "$W/acct-b.jsonl" --log "$W/acct-c.jsonl")  # each site's own log
out=$(pc reconcile "${logs[@]}" 2>&1); rc=$?
it_expect_eq "reconcile after every scenario: exit status" "$rc" 0
expect_contains "reconcile after every scenario: nothing found" "$out" ": 0 findings"
it_log "$(echo "$out" | tail -1)"
copy_conf=$W/pc-copy.conf
case "$ledger_kind" in
  sqlite) cp "$ledger_path" "$W/ledger-copy.db"; copy_path=$W/ledger-copy.db ;;
  mariadb)
    copy_path=${ledger_path/paracloud_ledger/paracloud_copy}
    { mariadb --no-defaults -S "$ROOT/a/mysql/mysqld.sock" -u root -e "CREATE DATABASE paracloud_copy CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" &&
      mariadb-dump --no-defaults -S "$ROOT/a/mysql/mysqld.sock" -u root paracloud_ledger |
        mariadb --no-defaults -S "$ROOT/a/mysql/mysqld.sock" -u root paracloud_copy; } >"$W/copy.log" 2>&1 \
      || { cat "$W/copy.log"; it_bad "copying the MariaDB ledger"; } ;;
esac
sed "s|^LedgerPath=.*|LedgerPath=$copy_path|" "$W/pc-a.conf" >"$copy_conf"
pcc() { "$PC" --conf "$copy_conf" "$@"; }
seed_charge=charge:b:99999:1796000000
seed_hold=lien:c:$j2:$(rec "$j2" "r['start']")0
{ pcc bank charge proj 0.50 --key "$seed_charge" --job b:99999 && pcc bank hold proj 1.00 --key "$seed_hold" --job "c:$j2"; } \
  >"$W/seed.log" 2>&1 || { cat "$W/seed.log"; it_bad "seeding the ledger copy"; }
sleep 1  # --grace 0 judges holds placed before this second
out=$(pcc -p reconcile --grace 0 "${logs[@]}" 2>&1); rc=$?
it_expect_eq "reconcile of the seeded copy: exit status 4" "$rc" 4
expect_contains "seeded charge for a job Slurm never ran: found and named" "$out" "charge_without_run|b:99999:1796000000|proj|0.50|$seed_charge|Slurm has no job 99999"
expect_contains "seeded open hold for finished job $j2: found and named" "$out" "$seed_hold"
expect_contains "seeded open hold: its kind" "$out" "hold_open|c:$j2:"
expect_contains "reconcile of the seeded copy: 2 findings" "$out" ": 2 findings"
nf=$(pcc --json reconcile --grace 0 "${logs[@]}" 2>/dev/null | python3 -c 'import json,sys; print(sorted(f["kind"] for f in json.load(sys.stdin)["findings"]))')
it_expect_eq "reconcile --json: the two kinds" "$nf" "['charge_without_run', 'hold_open']"

grep -h "job_submit/paracloud: latency" "$ROOT"/*/log/slurmctld.log | tail -3 | sed 's/^/# /'
it_finish
