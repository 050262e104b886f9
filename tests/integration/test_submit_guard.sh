#!/usr/bin/env bash
# Issue 16 items 2-3 on a real slurmctld: a pending job cannot be moved to an account its user is
# not a member of (job_modify), and unlimited or missing time limits get a bounded one at submit.
# slurmdbd runs too: without it Slurm ignores Account= updates; with it (associations not enforced,
# the user in every Slurm account, as on sites where the ledger is the authority) the update went
# through and the hold and charge landed on the other account.
# Run as root from scripts/run-tests.sh, or: PARACLOUD_BUILD=/path/to/build bash tests/integration/test_submit_guard.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm dbd
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
plugin_dir=$build/plugins/job_submit/paracloud/.libs
[ -f "$plugin_dir/job_submit_paracloud.so" ] || it_skip "plugin not built: make -C $build/plugins/job_submit/paracloud"
PC=$build/cli/paracloud
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
it_setup 200
W=$IT_DIR
cd "$W" || it_fail "cd $W"
conf=$W/paracloud.conf
cat >"$conf" <<EOF
ClusterName=pcguard
LedgerPath=$W/ledger.db
AccountingLog=$W/accounting.jsonl
SpoolDir=$W/spool
DefaultTimeLimit=3:00:00
SiteName=pcguard
PriceName=pcguard:* cpu=0.10
EOF
export PARACLOUD_CONF=$conf
pc() { "$PC" --conf "$conf" "$@"; }
{
  pc bank account add mine && pc bank account add victim && pc bank account add mine2 &&
    pc bank user add root -A mine --default && pc bank user add root -A mine2 && pc bank user add nobody -A victim &&
    pc bank deposit mine 100 && pc bank deposit mine2 100 && pc bank deposit victim 100
} >"$W/bank.log" 2>&1 || { cat "$W/bank.log"; it_fail "funding the ledger"; }

it_cluster_up --name pcguard --dbd --nodes 1 --cpus-per-node 2 --plugin-dir "$plugin_dir" \
  --paracloud-conf "$conf" --set JobSubmitPlugins=paracloud
for _ in $(seq 1 40); do grep -q 'partition facts loaded' "$IT_RUN/log/slurmctld.log" && break; sleep 0.25; done
# In Slurm root may use all three accounts; in the ledger victim is nobody's.
timeout 30 sacctmgr -i add account mine,victim,mine2 >"$W/sacctmgr.log" 2>&1 &&
  timeout 30 sacctmgr -i add user root account=mine,victim,mine2 >>"$W/sacctmgr.log" 2>&1 ||
  { cat "$W/sacctmgr.log"; it_fail "sacctmgr add account/user failed"; }
for _ in $(seq 1 100); do
  timeout 5 scontrol show assoc_mgr users=root flags=assoc 2>/dev/null | grep -q 'Account=victim' && break
  sleep 0.2
done
timeout 5 scontrol show assoc_mgr users=root flags=assoc 2>/dev/null | grep -q 'Account=victim' ||
  it_fail "slurmctld never learnt root's association with victim"
field() { timeout 10 scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# ---------------------------------------------------------------- item 2: account changes
it_sbatch --hold -A mine -n 1 -t 10 --wrap true
j=$IT_JOB
out=$(timeout 20 scontrol update JobId="$j" Account=victim 2>&1)
rc=$?
it_check "moving the pending job to victim is refused (rc $rc: $out)" test "$rc" -ne 0
# Slurm 22.05 gives job_modify no err_msg: scontrol shows the code's text, the log says why.
case "$out" in *"Invalid account"*) it_ok "scontrol says the account is refused" ;;
  *) it_bad "refusal message: '$out'" ;; esac
it_check "slurmctld's log names the reason" \
  grep -q "rejected a job of uid 0: paracloud: user root is not a member of account victim" "$IT_RUN/log/slurmctld.log"
it_expect_eq "job $j still on its own account" "$(field "$j" Account)" mine
out=$(timeout 20 scontrol update JobId="$j" Account=mine2 2>&1)
it_check "moving it to another account of the user works ($out)" test -z "$out"
it_expect_eq "job $j moved to mine2" "$(field "$j" Account)" mine2
scancel "$j"

# ---------------------------------------------------------------- item 3: bounded time limits
it_sbatch --hold -n 1 -t UNLIMITED --wrap true
j=$IT_JOB
it_expect_eq "--time=UNLIMITED gets DefaultTimeLimit (the partition has no MaxTime)" "$(field "$j" TimeLimit)" 03:00:00
scancel "$j"
it_sbatch --hold -n 1 --wrap true
j=$IT_JOB
it_expect_eq "no --time and no partition DefaultTime/MaxTime: DefaultTimeLimit" "$(field "$j" TimeLimit)" 03:00:00
scancel "$j"
it_sbatch --hold -n 1 -t 20 --wrap true
j=$IT_JOB
it_expect_eq "--time=20 kept" "$(field "$j" TimeLimit)" 00:20:00
out=$(timeout 20 scontrol update JobId="$j" TimeLimit=UNLIMITED 2>&1)
rc=$?
it_check "raising a job's limit to UNLIMITED is refused (rc $rc: $out)" test "$rc" -ne 0
it_expect_eq "job $j keeps its limit" "$(field "$j" TimeLimit)" 00:20:00
scancel "$j"
it_finish
