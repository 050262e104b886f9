#!/usr/bin/env bash
# The collective autotuner on a real application: LAMMPS melt at mpirun -np 2 with PARACLOUD_TUNE=auto, run twice
# on one tuning store. The first run explores and saves; the second loads the stored decisions (visible in
# its profile) and explores less; the physics (thermo output) equals a run without the runtime.
# Run from scripts/run-tests.sh (PARACLOUD_BUILD = build tree), or: PARACLOUD_BUILD=/path/to/build bash THIS
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
rt=$build/runtime/.libs/libparacloud_rt.so
command -v mpirun >/dev/null || it_skip "mpirun not installed (apt-get install openmpi-bin)"
command -v python3 >/dev/null || it_skip "python3 not installed"
command -v lmp >/dev/null || it_skip "LAMMPS (lmp) not installed (apt-get install lammps)"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
it_setup 300
work=$IT_DIR
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PARACLOUD_TUNE PARACLOUD_DISABLE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR LD_PRELOAD SLURM_JOB_ID SLURM_STEP_ID \
  PARACLOUD_TUNE_FORCE PARACLOUD_TUNE_REPRODUCIBLE OMPI_MCA_coll_tuned_use_dynamic_rules OMPI_MCA_coll_tuned_dynamic_rules_filename
store=$work/store
mkdir -p "$store"

melt=$IT_ROOT/tests/integration/data/melt.lmp
# 1000 steps: the tuner times each candidate several times per round, so a key needs ~100 calls to be
# decided; a 250-step run ends before any is. One exploration round (PARACLOUD_TUNE_ROUNDS=1) keeps
# the number of calls a decision takes small and independent of the machine's load.
melt_args=(-var steps 1000 -var thermo 250)
thermo() { awk '/^Step /{on=1} on && /^Loop time/{on=0} on' "$1"; }
# lammps NAME [auto]: one run in $work/NAME; with "auto" under the runtime, tuning store $store.
lammps() {
  local d=$work/$1 x=()
  mkdir -p "$d"
  [ "${2:-}" = auto ] && x=(-x "LD_PRELOAD=$rt" -x PARACLOUD_TUNE=auto -x PARACLOUD_TUNE_ROUNDS=1 -x "PARACLOUD_TUNE_DIR=$store" -x "PARACLOUD_PROFILE=$d/profile.json")
  (cd "$d" && timeout 150 mpirun -np 2 "${x[@]}" lmp -in "$melt" "${melt_args[@]}" -log none >"$d/stdout" 2>"$d/stderr") \
    || it_bad "LAMMPS $1 exited $?: $(tail -3 "$d/stderr")"
}
# field RUN PYTHON-EXPR over t = the profile's tuning object.
field() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tuning"]; print(eval(sys.argv[2]))' "$work/$1/profile.json" "$2"; }

lammps plain
lammps first auto
lammps second auto
[ -s "$work/first/profile.json" ] && [ -s "$work/second/profile.json" ] || it_fail "no profiles written: $(ls -R "$work" | head)"

want=$(thermo "$work/plain/stdout")
it_expect_eq "thermo lines (step 0..1000 every 250)" "$(echo "$want" | grep -cE '^ +[0-9]+ ')" 5
for r in first second; do
  if [ "$(thermo "$work/$r/stdout")" = "$want" ]; then it_ok "$r tuned run: thermo output identical to the plain run"
  else it_bad "$r tuned run: thermo differs:"; diff <(echo "$want") <(thermo "$work/$r/stdout") | head; fi
done

it_expect_eq "first run: tuner enabled" "$(field first 't["enabled"]')" True
it_expect_eq "first run: nothing loaded from the store" "$(field first 't["store_loaded"]')" None
it_check "first run: explored" [ "$(field first 't["exploration_calls"]')" -gt 0 ]
saved=$(field first 't["store_saved"]')
case $saved in "$store"/lmp-*.n2.r*.json) it_ok "first run saved decisions per application and geometry: $(basename "$saved")" ;;
  *) it_bad "first run: store_saved = '$saved'" ;; esac
it_check "first run: decisions reached" [ "$(field first 'sum(1 for d in t["decisions"] if d["source"] == "explore")')" -gt 0 ]

it_expect_eq "second run: loaded the first run's decisions" "$(field second 't["store_loaded"]')" "$saved"
stored=$(field second 'sum(1 for d in t["decisions"] if d["source"] == "store")')
it_check "second run: decisions from the store ($stored)" [ "$stored" -gt 0 ]
it_expect_eq "second run: every decision the first run reached comes from the store" \
  "$(field second 'sorted((d["collective"], d["comm_size"], d["bucket"], d["algorithm"]) for d in t["decisions"] if d["source"] == "store")')" \
  "$(field first 'sorted((d["collective"], d["comm_size"], d["bucket"], d["algorithm"]) for d in t["decisions"] if d["source"] == "explore")')"
e1=$(field first 't["exploration_calls"]') e2=$(field second 't["exploration_calls"]')
it_check "second run explores less than the first ($e2 < $e1 calls)" [ "$e2" -lt "$e1" ]
it_finish
