#!/usr/bin/env bash
# Integration test of jobcomp/paracloud's profile lookup on a real cluster (issue 16 item 9): with
# spank profile_dir= and paracloud.conf ProfileDir= the record carries the profile written there; a
# job whose WorkDir is a hung FUSE mount neither blocks the worker (later jobs are settled) nor
# leaves a reader process behind, and slurmctld still stops.
# Run as root from scripts/run-tests.sh (PARACLOUD_BUILD = build tree, top_srcdir = source tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_jobcomp_profiles.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm mpi
command -v python3 >/dev/null || it_skip "python3 not installed"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
spank=$build/plugins/spank/.libs/spank_paracloud.so
rt=$build/runtime/.libs/libparacloud_rt.so
comp_dir=$build/plugins/jobcomp/paracloud/.libs
PC=$build/cli/paracloud
[ -f "$spank" ] || it_skip "spank plugin not built: make -C $build/plugins/spank"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
[ -f "$comp_dir/jobcomp_paracloud.so" ] || it_skip "jobcomp/paracloud not built (make -C $build/plugins)"
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
[ -c /dev/fuse ] && grep -qw fuse /proc/filesystems || it_skip "no FUSE here (/dev/fuse, fuse in /proc/filesystems): the hung mount cannot be made"
it_setup 240
work=$IT_DIR

# A FUSE mount whose server never answers (not even FUSE_INIT): every lookup or open under it waits,
# as on a hung NFS or FUSE home directory. fuse_down ends it (closing /dev/fuse aborts the waits).
FUSE_PID='' FUSE_AT=''
fuse_up() {  # fuse_up DIR
  FUSE_AT=$1
  ( exec 3<>/dev/fuse && mount -i -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 pc-hung "$FUSE_AT" &&
      exec sleep 300 ) </dev/null >/dev/null 2>"$work/fuse.err" &
  FUSE_PID=$!
  local i
  for i in $(seq 50); do grep -q " $FUSE_AT fuse " /proc/mounts && return 0; sleep 0.1; done
  return 1
}
fuse_down() {
  [ -n "$FUSE_PID" ] && kill "$FUSE_PID" 2>/dev/null
  [ -n "$FUSE_AT" ] && umount -l "$FUSE_AT" 2>/dev/null
  FUSE_PID='' FUSE_AT=''
}
trap 'rc=$?; fuse_down; (exit $rc); it_cleanup' EXIT
mkdir -p "$work/probe"
fuse_up "$work/probe" || it_skip "cannot mount a FUSE file system here: $(cat "$work/fuse.err")"
fuse_down

mpicc -O1 -o "$work/calls_c" "$IT_ROOT/runtime/tests/calls_c.c" || it_fail "mpicc calls_c.c"
mkdir -p "$work/spool" "$work/profiles" "$work/hung"
chmod 1777 "$work/profiles"
echo "required $spank runtime=$rt profile_dir=$work/profiles" >"$work/plugstack.conf"
conf=$work/paracloud.conf LOG=$work/accounting.jsonl
printf '%s\n' "ClusterName=pcprof" "LedgerPath=$work/ledger.db" "AccountingLog=$LOG" "SpoolDir=$work/spool" \
  "ProfileDir=$work/profiles" "SiteName=pcprof" "PriceName=pcprof:* cpu=1 mem=0 node=0" >"$conf"
{ "$PC" --conf "$conf" bank account add lab && "$PC" --conf "$conf" bank user add root -A lab --default &&
    "$PC" --conf "$conf" bank user add nobody -A lab --default &&
    "$PC" --conf "$conf" bank deposit lab 1000; } >"$work/bank.log" 2>&1 || { cat "$work/bank.log"; it_fail "ledger setup"; }
it_cluster_up --nodes 1 --name pcprof --plugstack "$work/plugstack.conf" \
  --plugin-dir "$comp_dir" --paracloud-conf "$conf" --set JobCompType=jobcomp/paracloud
cd "$work" || it_fail "cd $work"

# record JOB PYTHON-EXPR [SECONDS]: EXPR with r = the job's record, once it is in the log (default 30 s).
record() {
  python3 - "$LOG" "$1" "$2" "${3:-30}" <<'EOF'
import json, sys, time
path, job, expr, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + limit
while True:
    try:
        for l in open(path):
            r = json.loads(l)
            if r.get("job_id") == job:
                print(eval(expr)); sys.exit(0)
    except FileNotFoundError:
        pass
    if time.monotonic() > deadline:
        break
    time.sleep(0.3)
print("no record of job %d in %s after %g s" % (job, path, limit)); sys.exit(1)
EOF
}

# ---------------------------------------------------------------- profile_dir=: the record has the profile
out=$(timeout 90 srun --mpi=pmix -n 2 --tune=profile ./calls_c 2>"$work/srun.err") || it_fail "srun calls_c: $(cat "$work/srun.err")"
job=$(ls "$work/profiles" | sed -n 's/^paracloud-profile-\([0-9]*\)\.0\.json$/\1/p')
[ -n "$job" ] || it_fail "no profile in $work/profiles (spank profile_dir=): $(ls "$work/profiles") / $(ls "$work")"
it_ok "the runtime wrote its profile to profile_dir: paracloud-profile-$job.0.json"
it_expect_eq "record of a job whose profile is in ProfileDir: where and what" \
  "$(record "$job" '(r["profile"] and r["profile"]["dir"], r["profile"] and [s["step"] for s in r["profile"]["steps"]], r["profile"] and r["profile"]["steps"][0]["ranks"], r["profile_reason"])')" \
  "('$work/profiles', ['0'], 2, None)"

# The same for a job of another user (sbatch --uid, as root): slurmctld's reader runs as that user
# and reads the profile it owns.
printf '#!/bin/sh\nsrun --mpi=pmix -n 2 %s/calls_c\n' "$work" >"$work/nobody.sh"
chmod 755 "$work/nobody.sh"
it_sbatch --uid=nobody --gid=nogroup -n 2 -D / -o /dev/null --tune=profile "$work/nobody.sh"
ujob=$IT_JOB
it_check "the job of user nobody completes" it_wait_job "$ujob" 90
it_expect_eq "its profile is in ProfileDir, owned by nobody" \
  "$(stat -c %U "$work/profiles/paracloud-profile-$ujob.0.json" 2>&1)" nobody
it_expect_eq "record of the job of user nobody: where and what" \
  "$(record "$ujob" '(r["user"], r["profile"] and r["profile"]["dir"], r["profile"] and [s["step"] for s in r["profile"]["steps"]], r["profile_reason"])')" \
  "('nobody', '$work/profiles', ['0'], None)"

# ---------------------------------------------------------------- a hung WorkDir
# The job starts in a real directory (its script runs there: slurmstepd's chdir is done); the hung
# mount then covers it, so that jobcomp meets it at the end.
it_sbatch -n 1 -D "$work/hung" -o "$work/hung.out" --tune=off \
  --wrap "touch $work/started; for i in \$(seq 600); do [ -e $work/mounted ] && exit 0; sleep 0.1; done; exit 1"
hjob=$IT_JOB
for i in $(seq 300); do [ -e "$work/started" ] && break; sleep 0.1; done
[ -e "$work/started" ] || it_fail "job $hjob did not start its script in $work/hung"
fuse_up "$work/hung" || it_fail "cannot mount the hung FUSE file system: $(cat "$work/fuse.err")"
if timeout 2 stat "$work/hung/." >/dev/null 2>&1; then it_fail "the FUSE mount at $work/hung answers: it is not hung"; fi
touch "$work/mounted"
it_check "the job in the hung directory completes" it_wait_job "$hjob" 60
# A job after it: settled although the worker met the hung directory first.
it_sbatch -n 1 -o /dev/null --tune=off --wrap true
njob=$IT_JOB
it_check "the next job completes" it_wait_job "$njob" 60
it_expect_eq "the next job is settled while the hung mount stays hung" "$(record "$njob" 'r["state"]' 60)" COMPLETED
it_expect_eq "the job of the hung directory is settled, without profile" "$(record "$hjob" '(r["state"], r["profile"])' 5)" "('COMPLETED', None)"
case "$(record "$hjob" 'r["profile_reason"]' 5)" in
  *"timed out"*) it_ok "its profile_reason says the lookup timed out" ;;
  *) it_bad "profile_reason of job $hjob: '$(record "$hjob" 'r["profile_reason"]' 5)' does not say 'timed out'" ;;
esac
readers() { for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = pc-profile-read ] && echo "${p#/proc/}"; done; }
left=''
for i in $(seq 50); do left=$(readers); [ -z "$left" ] && break; sleep 0.2; done
it_expect_eq "no profile reader process left" "$left" ""
ctld=$(cat "$IT_RUN/pid/slurmctld.pid")
it_expect_eq "slurmctld has no zombie child" "$(ps -o stat= --ppid "$ctld" | grep -c Z)" 0
# slurmctld stops on SIGTERM (jobcomp's fini joins its worker) while the mount is still hung.
kill -TERM "$ctld"
for i in $(seq 300); do
  st=$(cat "/proc/$ctld/stat" 2>/dev/null) || break
  st=${st##*) }; case $st in Z*|X*) break ;; esac
  sleep 0.1
done
st=$(cat "/proc/$ctld/stat" 2>/dev/null); st=${st##*) }
case $st in ""|Z*|X*) it_ok "slurmctld stopped on SIGTERM" ;; *) it_bad "slurmctld still running 30 s after SIGTERM (state ${st%% *})" ;; esac
it_cluster_down "$IT_RUN"
fuse_down
it_finish
