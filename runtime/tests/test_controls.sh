#!/bin/bash
# PARACLOUD_* controls: off writes nothing, a bad value warns once and profiles, DISABLE, app
# selection, an unwritable profile path (one log line, same results), PARACLOUD_LOG, DUMP_CONFIG,
# the Slurm file name.
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
prog="$PC_TESTBIN/calls_c"
PRELOAD= run_mpi 2 "$work/plain" "$prog" || fail "plain run"

# run_case NAME: runs $prog at -np 2 with the preload and the caller's PARACLOUD_* settings,
# profile directory $work/NAME; checks that stdout is the plain run's.
run_case() {
  local name=$1
  mkdir -p "$work/$name"
  PARACLOUD_PROFILE_DIR="${PARACLOUD_PROFILE_DIR:-$work/$name}" PRELOAD="$PC_RT" run_mpi 2 "$work/$name.out" "$prog" \
    || fail "$name: exit status $? with the preload"
  cmp -s "$work/plain" "$work/$name.out" || fail "$name: output differs from the plain run"
}
count_profiles() { ls "$work/$1"/*.json 2>/dev/null | wc -l; }

PARACLOUD_TUNE=off run_case off
[ "$(count_profiles off)" -eq 0 ] && [ ! -s "$work/off.out.err" ] && ok "TUNE=off: no profile, no message" || fail "TUNE=off wrote something"

PARACLOUD_TUNE=fast run_case bad
lines=$(grep -c . "$work/bad.out.err")
if [ "$lines" -eq 1 ] && grep -q "^paracloud: PARACLOUD_TUNE='fast' is not one of off|profile|auto: using profile$" "$work/bad.out.err"; then
  ok "bad TUNE: one warning naming the variable and the allowed values"
else
  fail "bad TUNE: stderr was:"; cat "$work/bad.out.err"
fi
[ "$(count_profiles bad)" -eq 1 ] && check_profile "$work"/bad/*.json --np 2 --field mode=profile --expect MPI_Allreduce=18

PARACLOUD_TUNE=auto run_case auto
[ "$(count_profiles auto)" -eq 1 ] && check_profile "$work"/auto/*.json --np 2 --field mode=auto --expect MPI_Allreduce=18

PARACLOUD_DISABLE=posix,mpi run_case disable
if [ "$(count_profiles disable)" -eq 1 ]; then
  check_profile "$work"/disable/*.json --np 2 --expect MPI_Allreduce=0 --layer mpi.calls=0 --layer posix.calls=0
  "$PYTHON3" - "$work"/disable/*.json <<'PY' && ok "DISABLE: modules reported disabled" || fail "DISABLE: modules not reported"
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["modules"]}
sys.exit(0 if not m["mpi"]["enabled"] and m["mpi"]["reason"] == "PARACLOUD_DISABLE" and not m["posix"]["enabled"] and m["mpiio"]["enabled"] else 1)
PY
else fail "DISABLE: no profile"; fi

PARACLOUD_APPS_EXCLUDE='bash,calls_*' run_case exclude
[ "$(count_profiles exclude)" -eq 0 ] && ok "APPS_EXCLUDE=calls_*: no profile" || fail "APPS_EXCLUDE ignored"
PARACLOUD_APPS_INCLUDE='lammps,other' run_case include_other
[ "$(count_profiles include_other)" -eq 0 ] && ok "APPS_INCLUDE without calls_c: no profile" || fail "APPS_INCLUDE ignored"
PARACLOUD_APPS_INCLUDE='lmp,calls_c' run_case include
[ "$(count_profiles include)" -eq 1 ] && ok "APPS_INCLUDE=lmp,calls_c: profile" || fail "APPS_INCLUDE=calls_c: no profile"

PARACLOUD_PROFILE="$work/no/such/dir/p.json" run_case unwritable
if [ "$(grep -c . "$work/unwritable.out.err")" -eq 1 ] && grep -q "^paracloud: profile disabled: cannot write $work/no/such/dir/p.json" "$work/unwritable.out.err"; then
  ok "unwritable PARACLOUD_PROFILE: one line, same output, exit 0"
else fail "unwritable PARACLOUD_PROFILE: stderr was:"; cat "$work/unwritable.out.err"; fi

PARACLOUD_LOG="$work/rt.log" PARACLOUD_PROFILE="$work/no/such/dir/p.json" run_case logged
[ ! -s "$work/logged.out.err" ] && grep -q "profile disabled" "$work/rt.log" && ok "PARACLOUD_LOG=file receives the message" \
  || fail "PARACLOUD_LOG: stderr '$(cat "$work/logged.out.err")', log '$(cat "$work/rt.log" 2>/dev/null)'"

PARACLOUD_PROFILE="$work/exact.json" run_case exact
[ -f "$work/exact.json" ] && ok "PARACLOUD_PROFILE=file" || fail "PARACLOUD_PROFILE=file not written"

PARACLOUD_DUMP_CONFIG=1 run_case dump
n=$(grep -c "^paracloud:   PARACLOUD_TUNE=profile  (default" "$work/dump.out.err")
[ "$n" -eq 1 ] && ok "DUMP_CONFIG: settings printed once (rank 0)" || { fail "DUMP_CONFIG printed $n times:"; cat "$work/dump.out.err"; }
documented=0
for v in $(sed -n 's/^paracloud:   \(PARACLOUD_[A-Z_]*\)=.*/\1/p' "$work/dump.out.err"); do
  if grep -q "^| \`$v\`" "$PC_SRCDIR/README.md"; then documented=$((documented + 1)); else fail "README.md does not document $v"; fi
done
[ "$documented" -ge 9 ] && ok "README.md documents all $documented controls" || fail "only $documented controls documented"

# Under Slurm the name carries the job and step ids (set for the ranks only: mpirun stays local).
mkdir -p "$work/slurm"
(cd "$work" && timeout 60 "$MPIRUN" --oversubscribe -np 2 -x LD_PRELOAD="$PC_RT" -x PARACLOUD_PROFILE_DIR="$work/slurm" \
  -x SLURM_JOB_ID=4242 -x SLURM_STEP_ID=7 "$prog" >/dev/null 2>&1) || fail "slurm naming run"
[ -f "$work/slurm/paracloud-profile-4242.7.json" ] && check_profile "$work/slurm/paracloud-profile-4242.7.json" --np 2 \
  --field job.id=4242 --field job.step=7 --field job.launcher=slurm || fail "no paracloud-profile-4242.7.json: $(ls "$work/slurm")"
finish
