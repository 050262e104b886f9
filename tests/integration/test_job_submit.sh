#!/usr/bin/env bash
# Integration test of job_submit/paracloud on a real slurmctld: accept, reject with numbers, --test-only, account errors, default time, reload.
# Run as root from scripts/run-tests.sh (PARACLOUD_BUILD = build tree, top_srcdir = source tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_job_submit.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm
command -v python3 >/dev/null || it_skip "python3 not installed"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
plugin_dir=$build/plugins/job_submit/paracloud/.libs
[ -f "$plugin_dir/job_submit_paracloud.so" ] || it_skip "plugin not built: make -C $build/plugins/job_submit/paracloud"
PC=$build/cli/paracloud
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
it_setup 240
work=$IT_DIR

bad() { it_bad "$@"; }
expect_eq() { it_expect_eq "$@"; }
expect_contains() {  # expect_contains WHAT TEXT NEEDLE
  case "$2" in *"$3"*) it_ok "$1" ;; *) it_bad "$1: '$2' lacks '$3'" ;; esac
}

# ---------------------------------------------------------------- setup
conf=$work/paracloud.conf
cat >"$conf" <<EOF
ClusterName=pcjs
LedgerPath=$work/ledger.db
AccountingLog=$work/accounting.jsonl
SpoolDir=$work/spool
DefaultTimeLimit=2:00:00
SiteName=pcjs
PriceName=pcjs:batch cpu=0.10 gres/gpu=2.00
PriceName=pcjs:debug cpu=0.05
EOF
export PARACLOUD_CONF=$conf
pc() { "$PC" --conf "$conf" "$@"; }
{
  pc bank account add proj1 && pc bank account add proj2 && pc bank account add proj3 &&
    pc bank user add root -A proj1 --default && pc bank user add root -A proj3 &&
    pc bank user add nobody -A proj2 && pc bank deposit proj1 5.00 && pc bank deposit proj3 100
} >"$work/bank.log" 2>&1 || { cat "$work/bank.log"; it_fail "funding the ledger"; }

# quote ARGS...: total of `paracloud price quote` in major units ("8.00").
quote() { pc --json price quote -M pcjs "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
available() { pc --json bank balance "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["available"])'; }

# An installed copy in the distro's plugin directory must not shadow the build's (cluster.sh puts
# --plugin-dir first and checks which file slurmctld mapped). When there is none, a copy is put there
# for the start and removed at once (and by it_cleanup).
distro_js=/usr/lib/x86_64-linux-gnu/slurm-wlm/job_submit_paracloud.so
if [ ! -e "$distro_js" ] && [ -d "${distro_js%/*}" ]; then
  cp "$plugin_dir/job_submit_paracloud.so" "$distro_js" && IT_REMOVE+=("$distro_js")
fi
it_cluster_up --name pcjs --nodes 2 --cpus-per-node 4 --plugin-dir "$plugin_dir" \
  --paracloud-conf "$conf" --set JobSubmitPlugins=paracloud --set GresTypes=gpu
run=$IT_RUN
[ ${#IT_REMOVE[@]} -eq 0 ] || rm -f "$distro_js"
expect_contains "slurmctld loaded the build's plugin, not the one in ${distro_js%/*}" "$(cat "$IT_UP_LOG")" \
  "cluster: slurmctld loaded $(realpath "$plugin_dir/job_submit_paracloud.so")"
ctld_log=$run/log/slurmctld.log
expect_contains "plugin loaded" "$(grep 'job_submit/paracloud' "$ctld_log")" "job_submit/paracloud: loaded $run/etc/paracloud.conf (site pcjs"
for _ in $(seq 1 40); do grep -q 'partition facts loaded' "$ctld_log" && break; sleep 0.25; done
expect_contains "partition facts" "$(grep 'partition facts' "$ctld_log")" "2 partitions, default batch"

# ---------------------------------------------------------------- affordable: accepted, account defaulted
out=$(sbatch --hold -n 8 -t 2:00:00 --wrap true 2>&1)
expect_contains "affordable job accepted" "$out" "Submitted batch job"
job=${out##* }
expect_contains "defaulted account recorded" "$(scontrol show job "$job" 2>&1)" "Account=proj1"
scancel "$job"

# ---------------------------------------------------------------- unaffordable: rejected with the numbers
want=$(quote --partition batch -n 8 -t 10:00:00)
expect_eq "price quote of 8 cpu x 10 h" "$want" "8.00"
out=$(sbatch -n 8 -t 10:00:00 --wrap true 2>&1) && bad "unaffordable job was accepted: $out"
expect_contains "unaffordable job rejected with the message" "$out" \
  "sbatch: error: paracloud: job needs up to $want CNY (8 cpu x 10:00:00 on pcjs/batch); account proj1 has 5.00 CNY available - deposit funds or shorten --time"
expect_contains "rejection code" "$out" "Job violates accounting/QOS policy"
# The same job is affordable on an account with more funds.
out=$(sbatch --hold -A proj3 -n 8 -t 10:00:00 --wrap true 2>&1)
expect_contains "same job on a funded account" "$out" "Submitted batch job"
scancel "${out##* }" 2>/dev/null

# ---------------------------------------------------------------- --test-only: quotes, holds nothing
before=$(available proj1)
njobs=$(squeue -h | wc -l)
out=$(sbatch --test-only -n 2 -t 1:00:00 --wrap true 2>&1)
expect_contains "--test-only affordable" "$out" "to start at"
out=$(sbatch --test-only -n 8 -t 10:00:00 --wrap true 2>&1)
expect_contains "--test-only unaffordable is refused too" "$out" "account proj1 has 5.00 CNY available"
expect_eq "--test-only holds no funds" "$(available proj1)" "$before"
expect_eq "--test-only queues nothing" "$(squeue -h | wc -l)" "$njobs"

# ---------------------------------------------------------------- account errors
out=$(sbatch -A nosuch --wrap true 2>&1)
expect_contains "unknown account" "$out" "paracloud: account 'nosuch' does not exist - submit with --account=ACCOUNT, one of yours: proj1, proj3"
out=$(sbatch -A proj2 --wrap true 2>&1)
expect_contains "not a member" "$out" "paracloud: user root is not a member of account proj2"
out=$(sbatch -p nosuchpart --wrap true 2>&1)
expect_contains "no price for the partition" "$out" "no price for site 'pcjs' partition 'nosuchpart'"
out=$(sbatch --uid=nobody --hold -n 1 -t 10 --wrap true 2>&1)
# nobody's only account is proj2 (funds 0): a 1-cpu 10-minute job costs 0.02, more than 0.00.
expect_contains "member without funds (submitted as another user by root)" "$out" "account proj2 has 0.00 CNY available"

# ---------------------------------------------------------------- default time limits, seen by the job
# batch: MaxTime=INFINITE, no DefaultTime -> paracloud.conf DefaultTimeLimit (2:00:00).
# debug: MaxTime=00:30:00, no DefaultTime -> the partition MaxTime.
want_batch=$(quote --partition batch -n 1 -t 2:00:00)
want_debug=$(quote --partition debug -c 2 -t 30)
o1=$work/out.batch o2=$work/out.debug
sbatch -o "$o1" --wrap 'echo "quote=$SLURM_PARACLOUD_QUOTE account=$SLURM_JOB_ACCOUNT"' >/dev/null
sbatch -p debug -c 2 -o "$o2" --wrap 'echo "quote=$SLURM_PARACLOUD_QUOTE"' >/dev/null
for _ in $(seq 1 60); do [ -s "$o1" ] && [ -s "$o2" ] && break; sleep 0.5; done
expect_eq "job without --time in batch: DefaultTimeLimit" "$(cat "$o1" 2>/dev/null)" "quote=$want_batch CNY account=proj1"
expect_eq "job without --time in debug: partition MaxTime" "$(cat "$o2" 2>/dev/null)" "quote=$want_debug CNY"
# An unaffordable job without --time names where its time limit came from.
out=$(sbatch -n 8 -c 4 --wrap true 2>&1)
want=$(quote --partition batch -n 8 -c 4 -t 2:00:00)
expect_contains "no --time, unaffordable" "$out" \
  "job needs up to $want CNY (32 cpu x 02:00:00 on pcjs/batch); account proj1 has 5.00 CNY available - deposit funds or give a shorter --time (time priced from the paracloud.conf DefaultTimeLimit)"

# ---------------------------------------------------------------- GPUs (GresTypes=gpu, no node has any: only the quote matters)
out=$(sbatch --test-only -N 1 --gres=gpu:3 -t 1:00:00 --wrap true 2>&1)
want=$(quote --partition batch -N 1 --gres gpu:3 -t 1:00:00)
expect_contains "gpu job (--gres) quoted" "$out" "job needs up to $want CNY (1 cpu, 3 gpu x 01:00:00 on pcjs/batch)"
out=$(sbatch --test-only -n 4 --gpus-per-task=1 -t 1:00:00 --wrap true 2>&1)
want=$(quote --partition batch -n 4 --gpus 4 -t 1:00:00)
expect_contains "gpu job (--gpus-per-task) quoted" "$out" "job needs up to $want CNY (4 cpu, 4 gpu x 01:00:00 on pcjs/batch)"

# ---------------------------------------------------------------- reload: new prices within a second, broken file kept out
sleep 1.1
sed -i 's/^PriceName=pcjs:batch cpu=0.10/PriceName=pcjs:batch cpu=1.00/' "$conf"
sleep 1.2
out=$(sbatch --test-only -n 8 -t 1:00:00 --wrap true 2>&1)
expect_contains "reloaded prices apply" "$out" "job needs up to 8.00 CNY (8 cpu x 01:00:00 on pcjs/batch)"
expect_contains "reload logged" "$(grep 'job_submit/paracloud: reloaded' "$ctld_log")" "reloaded"
echo "Bogus=1" >>"$conf"
sleep 1.2
out=$(sbatch --test-only -n 8 -t 1:00:00 --wrap true 2>&1)
expect_contains "broken file: last good config stays" "$out" "job needs up to 8.00 CNY"
expect_contains "broken file logged with file:line" "$(grep 'keeping the last good configuration' "$ctld_log")" "paracloud.conf:9"

# ---------------------------------------------------------------- a broken file at start: slurmctld refuses to start
timeout 60 "$IT_CLUSTER" restart-ctld --run-dir "$run" --timeout 8 >"$work/restart.log" 2>&1 && bad "slurmctld started with a broken paracloud.conf"
expect_contains "init fails on a broken file" "$(grep 'job_submit/paracloud: cannot start' "$ctld_log")" "paracloud.conf:9"

it_finish
