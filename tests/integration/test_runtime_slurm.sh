#!/usr/bin/env bash
# Integration test of spank/paracloud + libparacloud_rt on a real cluster: --tune=profile|off|bogus for srun and sbatch, exact profile counts, LD_PRELOAD handling, plugstack errors, `paracloud profile JOBID`.
# Run as root from scripts/run-tests.sh (PARACLOUD_BUILD = build tree, top_srcdir = source tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_runtime_slurm.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm mpi
command -v python3 >/dev/null || it_skip "python3 not installed"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
spank=$build/plugins/spank/.libs/spank_paracloud.so
rt=$build/runtime/.libs/libparacloud_rt.so
PC=$build/cli/paracloud
[ -f "$spank" ] || it_skip "spank plugin not built: make -C $build/plugins/spank"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
it_setup 240
work=$IT_DIR

expect_contains() {  # expect_contains WHAT TEXT NEEDLE
  case "$2" in *"$3"*) it_ok "$1" ;; *) it_bad "$1: '$2' lacks '$3'" ;; esac
}
expect_lacks() {
  case "$2" in *"$3"*) it_bad "$1: '$2' contains '$3'" ;; *) it_ok "$1" ;; esac
}
# profile_field FILE PYTHON-EXPR: evaluates EXPR with d = the profile and c = {name: call}.
profile_field() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["name"]: x for x in d["calls"]}
print(eval(sys.argv[2]))
EOF
}

# ---------------------------------------------------------------- programs
# calls_c: the runtime's own test program with documented exact counts (runtime/tests/test_calls_c.sh).
mpicc -O1 -o "$work/calls_c" "$IT_ROOT/runtime/tests/calls_c.c" || it_fail "mpicc calls_c.c"
# A preload library of the user's own, to show that the plugin keeps it.
printf 'void pc_user_preload_marker(void) {}\n' >"$work/userpre.c"
cc -shared -fPIC -o "$work/userpre.so" "$work/userpre.c" || it_fail "cc userpre.c"

cat >"$work/plugstack.conf" <<EOF
required $spank runtime=$rt
EOF
# With jobcomp/paracloud built, the accounting records are checked for the profile summary too.
comp_dir=$build/plugins/jobcomp/paracloud/.libs
acct=()
if [ -f "$comp_dir/jobcomp_paracloud.so" ]; then
  conf=$work/paracloud.conf LOG=$work/accounting.jsonl
  printf '%s\n' "ClusterName=pcrt" "LedgerPath=$work/ledger.db" "AccountingLog=$LOG" "SpoolDir=$work/spool" \
    "SiteName=pcrt" "PriceName=pcrt:* cpu=1 mem=0 node=0" >"$conf"
  mkdir -p "$work/spool"
  { "$PC" --conf "$conf" bank account add lab && "$PC" --conf "$conf" bank user add root -A lab --default &&
      "$PC" --conf "$conf" bank deposit lab 1000; } >"$work/bank.log" 2>&1 || { cat "$work/bank.log"; it_fail "ledger setup"; }
  acct=(--plugin-dir "$comp_dir" --paracloud-conf "$conf" --set JobCompType=jobcomp/paracloud)
else
  it_log "SKIP accounting record checks: jobcomp/paracloud not built (make -C $build/plugins)"
fi
it_cluster_up --nodes 2 --name pcrt --plugstack "$work/plugstack.conf" "${acct[@]}"
cd "$work" || it_fail "cd $work"

# ---------------------------------------------------------------- srun --tune=profile: exact counts
out=$(timeout 90 srun --mpi=pmix -n 4 --tune=profile ./calls_c 2>"$work/srun.err")
rc=$?
it_expect_eq "srun --tune=profile -n 4 exit status" "$rc" 0
expect_contains "program output" "$out" "calls_c: 4 ranks, checksum"
# The first job of this cluster: its only profile names the job id.
job=$(ls "$work" | sed -n 's/^paracloud-profile-\([0-9]*\)\.0\.json$/\1/p')
prof=$work/paracloud-profile-$job.0.json
if [ -n "$job" ] && [ -f "$prof" ]; then
  it_ok "profile written to the submit directory: $(basename "$prof")"
  n=4
  it_expect_eq "profile job id" "$(profile_field "$prof" 'd["job"]["id"]')" "$job"
  it_expect_eq "profile step" "$(profile_field "$prof" 'd["job"]["step"]')" 0
  it_expect_eq "profile launcher" "$(profile_field "$prof" 'd["job"]["launcher"]')" slurm
  it_expect_eq "profile ranks" "$(profile_field "$prof" 'd["ranks"]')" $n
  it_expect_eq "MPI_Allreduce count" "$(profile_field "$prof" 'c["MPI_Allreduce"]["count"]["sum"]')" $((9 * n))
  it_expect_eq "MPI_Allreduce bytes" "$(profile_field "$prof" 'c["MPI_Allreduce"]["bytes"]["sum"]')" $(((7 * 8 + 16 + 8) * n))
  it_expect_eq "MPI_Send count" "$(profile_field "$prof" 'c["MPI_Send"]["count"]["sum"]')" $((n - 1))
  it_expect_eq "MPI_Sendrecv count" "$(profile_field "$prof" 'c["MPI_Sendrecv"]["count"]["sum"]')" $((2 * n))
  it_expect_eq "MPI_Isend count" "$(profile_field "$prof" 'c["MPI_Isend"]["count"]["sum"]')" $((4 * n))
  it_expect_eq "MPI_Barrier count per rank" "$(profile_field "$prof" '(c["MPI_Barrier"]["count"]["min"], c["MPI_Barrier"]["count"]["max"])')" "(1, 1)"
else
  it_bad "no profile paracloud-profile-<job>.0.json in $work: $(ls "$work")"
fi

# ---------------------------------------------------------------- paracloud profile JOBID
if [ -n "$job" ]; then
  rep=$("$PC" profile "$job" 2>&1)
  expect_contains "paracloud profile JOBID: header" "$rep" "ranks:      4 on 1 node"
  expect_contains "paracloud profile JOBID: file" "$rep" "== ./paracloud-profile-$job.0.json"
  line=$(echo "$rep" | grep '^MPI_Allreduce ')
  it_expect_eq "paracloud profile JOBID: MPI_Allreduce count and bytes" "$(echo "$line" | awk '{print $2, $3}')" "36 320"
  expect_contains "paracloud profile JOBID: message sizes" "$rep" "Message sizes"
  # From another directory: found through Slurm's WorkDir (scontrol), or with --dir.
  rep=$(cd / && "$PC" profile "$job" 2>&1)
  expect_contains "paracloud profile JOBID from / (WorkDir from scontrol)" "$rep" "== $work/paracloud-profile-$job.0.json"
  rep=$(cd / && "$PC" --json profile "$job.0" --dir "$work" 2>&1)
  it_expect_eq "paracloud --json profile JOBID.STEP --dir" \
    "$(echo "$rep" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["ranks"], d[0]["job"]["id"])')" "1 4 $job"
  rep=$("$PC" profile 999999 2>&1); rc=$?
  it_expect_eq "paracloud profile of a job without profiles: exit status" "$rc" 3
  expect_contains "paracloud profile of a job without profiles: message" "$rep" "no profile of job 999999 (paracloud-profile-999999.*.json)"
  head -c 200 "$prof" >"$work/paracloud-profile-$job.7.json"
  rep=$("$PC" profile "$job" 2>&1); rc=$?
  it_expect_eq "a corrupt step file: exit status 5" "$rc" 5
  expect_contains "a corrupt step file is named" "$rep" "paracloud-profile-$job.7.json: not valid JSON"
  expect_contains "the good step is still reported" "$rep" "== ./paracloud-profile-$job.0.json"
  rm -f "$work/paracloud-profile-$job.7.json"
fi

# ---------------------------------------------------------------- LD_PRELOAD in the task
envs=$(LD_PRELOAD=$work/userpre.so timeout 30 srun -n 1 --tune=profile printenv LD_PRELOAD PARACLOUD_TUNE PARACLOUD_PROFILE_DIR 2>&1)
it_expect_eq "--tune=profile: runtime first, the user's own LD_PRELOAD kept" "$(echo "$envs" | sed -n 1p)" "$rt:$work/userpre.so"
it_expect_eq "--tune=profile: PARACLOUD_TUNE" "$(echo "$envs" | sed -n 2p)" profile
it_expect_eq "--tune=profile: PARACLOUD_PROFILE_DIR is the working dir" "$(echo "$envs" | sed -n 3p)" "$work"
envs=$(LD_PRELOAD=$work/userpre.so timeout 30 srun -n 1 --tune=auto printenv PARACLOUD_TUNE 2>&1)
it_expect_eq "--tune=auto: PARACLOUD_TUNE" "$envs" auto
envs=$(timeout 30 srun -n 1 printenv PARACLOUD_TUNE 2>&1)
it_expect_eq "no --tune: the site default (profile)" "$envs" profile

# ---------------------------------------------------------------- --tune=off: nothing injected, nothing written
before=$(ls "$work"/paracloud-profile-*.json 2>/dev/null | wc -l)
out=$(LD_PRELOAD=$work/userpre.so timeout 30 srun -n 1 --tune=off sh -c 'echo "[$LD_PRELOAD] $PARACLOUD_TUNE"' 2>&1)
it_expect_eq "--tune=off: only the user's LD_PRELOAD, PARACLOUD_TUNE=off" "$out" "[$work/userpre.so] off"
out=$(timeout 90 srun --mpi=pmix -n 2 --tune=off ./calls_c 2>&1)
expect_contains "--tune=off: the program runs" "$out" "calls_c: 2 ranks"
out=$(PARACLOUD_TUNE=off timeout 90 srun --mpi=pmix -n 2 ./calls_c 2>&1)
expect_contains "PARACLOUD_TUNE=off exported: the program runs" "$out" "calls_c: 2 ranks"
it_expect_eq "--tune=off and PARACLOUD_TUNE=off write no profile" "$(ls "$work"/paracloud-profile-*.json 2>/dev/null | wc -l)" "$before"

# ---------------------------------------------------------------- --tune=bogus
out=$(timeout 30 srun -n 1 --tune=bogus true 2>&1); rc=$?
[ $rc -ne 0 ] && it_ok "--tune=bogus refused (exit $rc)" || it_bad "--tune=bogus was accepted"
expect_contains "--tune=bogus message names the allowed values" "$out" \
  "paracloud: --tune=bogus is not a tuning mode: use --tune=auto, --tune=profile or --tune=off"
out=$(timeout 30 sbatch --tune=bogus --wrap true 2>&1); rc=$?
[ $rc -ne 0 ] && it_ok "sbatch --tune=bogus refused" || it_bad "sbatch --tune=bogus was accepted: $out"
expect_contains "sbatch --tune=bogus message" "$out" "use --tune=auto, --tune=profile or --tune=off"

# ---------------------------------------------------------------- --bind (issue 11)
# One node, as many ranks as it has PUs (at most 2): each rank ends up bound as `paracloud bind
# show` predicts (read back in the program with sched_getaffinity); task/none binds nothing itself.
mpicc -O1 -o "$work/bind_c" "$IT_ROOT/runtime/tests/bind_c.c" || it_fail "mpicc bind_c.c"
bnp=$(nproc); [ "$bnp" -le 2 ] || bnp=2
expand_cpus() { echo "$1" | tr ',' '\n' | awk -F- 'NF==2{for(i=$1;i<=$2;i++)print i;next}{print}' | paste -sd, -; }
"$PC" bind show -n "$bnp" >"$work/bind.show" 2>&1 || it_bad "paracloud bind show -n $bnp: $(cat "$work/bind.show")"
out=$(timeout 90 srun --mpi=pmix -N 1 -n "$bnp" --bind=verbose ./bind_c 2>"$work/bind.err"); rc=$?
it_expect_eq "srun --bind=verbose exit status" "$rc" 0
for ((r = 0; r < bnp; r++)); do
  want=$(expand_cpus "$(sed -n "s/^rank $r: cpus \([^ ]*\) .*/\1/p" "$work/bind.show")")
  got=$(echo "$out" | sed -n "s/^rank $r cpus \([^ ]*\) .*/\1/p")
  it_expect_eq "srun --bind: rank $r bound as paracloud bind show predicts" "$got" "$want"
done
expect_contains "srun --bind=verbose: one line per rank" "$(cat "$work/bind.err")" "bind: rank 0 of $bnp (srun): spread applied"
out=$(timeout 90 srun --mpi=pmix -N 1 -n 1 --bind=none ./bind_c 2>&1)
expect_contains "srun --bind=none: unbound" "$out" "rank 0 cpus $(expand_cpus "0-$(($(nproc) - 1))") places - bind -"
# The site's bind= (plugstack.conf) applies to jobs that give no --bind; --bind wins over it.
cp "$work/plugstack.conf" "$work/plugstack.conf.saved"
echo "required $spank runtime=$rt bind=keep" >"$work/plugstack.conf"
out=$(timeout 90 srun --mpi=pmix -N 1 -n "$bnp" ./bind_c 2>&1)
expect_contains "plugstack bind=keep: ranks left as they were" "$out" "rank 0 cpus $(expand_cpus "0-$(($(nproc) - 1))") places - bind -"
out=$(timeout 90 srun --mpi=pmix -N 1 -n "$bnp" --bind=auto ./bind_c 2>&1)
it_expect_eq "--bind=auto over plugstack bind=keep: rank 0 bound" "$(echo "$out" | sed -n 's/^rank 0 cpus \([^ ]*\) .*/\1/p')" \
  "$(expand_cpus "$(sed -n 's/^rank 0: cpus \([^ ]*\) .*/\1/p' "$work/bind.show")")"
cp "$work/plugstack.conf.saved" "$work/plugstack.conf"
out=$(timeout 30 srun -n 1 --bind=fastest true 2>&1); rc=$?
[ $rc -ne 0 ] && it_ok "--bind=fastest refused (exit $rc)" || it_bad "--bind=fastest was accepted"
expect_contains "--bind=fastest names the allowed values" "$out" \
  "paracloud: --bind=fastest is not a binding: use auto, spread, compact, numa, none or keep"
out=$(timeout 30 sbatch --bind=fastest --wrap true 2>&1); rc=$?
[ $rc -ne 0 ] && it_ok "sbatch --bind=fastest refused" || it_bad "sbatch --bind=fastest was accepted: $out"

# ---------------------------------------------------------------- sbatch --tune=profile with srun steps
cat >"$work/job.sh" <<'EOF'
#!/bin/bash
echo "batch: [${LD_PRELOAD:-}] [${PARACLOUD_TUNE:-}]"
srun --mpi=pmix -n 2 ./calls_c
srun -n 1 printenv LD_PRELOAD
echo "bash done"
EOF
it_sbatch --tune=profile -n 2 -o "$work/batch.%j.out" "$work/job.sh"
bjob=$IT_JOB
it_check "sbatch --tune=profile job completes" it_wait_job "$bjob" 90
bout=$(cat "$work/batch.$bjob.out" 2>/dev/null)
expect_contains "srun step inside the batch job ran" "$bout" "calls_c: 2 ranks"
expect_contains "srun step inside the batch job has the runtime" "$bout" "$rt"
expect_contains "the batch script's bash finished normally" "$bout" "bash done"
bp=$work/paracloud-profile-$bjob.0.json
if [ -f "$bp" ]; then
  it_ok "sbatch --tune=profile: step 0 profile written"
  it_expect_eq "batch step 0: MPI_Allreduce count" "$(profile_field "$bp" 'c["MPI_Allreduce"]["count"]["sum"]')" 18
else
  it_bad "sbatch --tune=profile: no $bp ($(ls "$work"))"
fi
# The batch script's bash (and printenv) are not MPI programs: the runtime stays inert there.
it_expect_eq "no profile from the batch script or from non-MPI steps" \
  "$(ls "$work"/paracloud-profile-"$bjob".*.json 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')" \
  "paracloud-profile-$bjob.0.json "
rep=$("$PC" profile "$bjob" 2>&1)
expect_contains "paracloud profile of the batch job" "$rep" "ranks:      2 on 1 node"

it_sbatch --tune=off -n 2 -o "$work/batch.%j.out" "$work/job.sh"
ojob=$IT_JOB
it_wait_job "$ojob" 90 >/dev/null  # the printenv step fails: LD_PRELOAD is unset
oout=$(cat "$work/batch.$ojob.out" 2>/dev/null)
expect_contains "sbatch --tune=off: batch script without the runtime" "$oout" "batch: [] [off]"
expect_lacks "sbatch --tune=off: steps without the runtime" "$oout" "$rt"
expect_contains "sbatch --tune=off: srun step ran" "$oout" "calls_c: 2 ranks"
it_expect_eq "sbatch --tune=off: no profile" "$(ls "$work"/paracloud-profile-"$ojob".*.json 2>/dev/null | wc -l)" 0

# ---------------------------------------------------------------- runtime missing on the node
# slurmstepd reads plugstack.conf for each step: a runtime= that does not exist leaves the tasks alone.
cp "$work/plugstack.conf" "$work/plugstack.conf.good"
echo "required $spank runtime=$work/not-installed/libparacloud_rt.so" >"$work/plugstack.conf"
out=$(LD_PRELOAD=$work/userpre.so timeout 30 srun -n 1 --tune=profile printenv LD_PRELOAD 2>"$work/missing.err"); rc=$?
it_expect_eq "runtime missing on the node: the step runs with the user's LD_PRELOAD only" "$rc:$out" "0:$work/userpre.so"
expect_contains "runtime missing on the node: the user is told why" \
  "$(cat "$work/missing.err")" "paracloud: runtime $work/not-installed/libparacloud_rt.so is not readable on this node"
cp "$work/plugstack.conf.good" "$work/plugstack.conf"

# ---------------------------------------------------------------- bad plugstack.conf arguments (client side)
sed "s|^PlugStackConfig=.*|PlugStackConfig=$work/bad-plugstack.conf|" "$SLURM_CONF" >"$work/bad-slurm.conf"
check_bad_arg() {  # check_bad_arg ARGS NEEDLE
  echo "required $spank $1" >"$work/bad-plugstack.conf"
  out=$(SLURM_CONF=$work/bad-slurm.conf timeout 30 srun -n 1 true 2>&1); rc=$?
  [ $rc -ne 0 ] && it_ok "plugstack '$1': srun refuses" || it_bad "plugstack '$1': srun ran"
  expect_contains "plugstack '$1': message" "$out" "$2"
}
check_bad_arg "bogus=1" "paracloud: plugstack.conf argument 'bogus=1' not understood: expected default=MODE, bind=POLICY, runtime=/ABSOLUTE/PATH or profile_dir=/ABSOLUTE/DIR"
check_bad_arg "bind=fast" "paracloud: plugstack.conf argument bind=fast: expected auto, spread, compact, numa, none or keep"
check_bad_arg "default=fast" "paracloud: plugstack.conf argument default=fast: expected auto, profile or off"
check_bad_arg "runtime=lib.so" "paracloud: plugstack.conf argument 'runtime=lib.so': expected an absolute path"

# ---------------------------------------------------------------- accounting records (jobcomp/paracloud)
# record JOB PYTHON-EXPR: evaluates EXPR with r = the job's record, once it is in the log (30 s at most).
record() {
  python3 - "$LOG" "$1" "$2" <<'EOF'
import json, sys, time
path, job, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for _ in range(100):
    try:
        for l in open(path):
            r = json.loads(l)
            if r.get("job_id") == job:
                print(eval(expr)); sys.exit(0)
    except FileNotFoundError:
        pass
    time.sleep(0.3)
print("no record of job %d in %s" % (job, path)); sys.exit(1)
EOF
}
if [ ${#acct[@]} -gt 0 ]; then
  it_expect_eq "record of the srun job: profile of step 0" \
    "$(record "$job" '(r["profile"]["steps"][0]["step"], r["profile"]["steps"][0]["ranks"], r["profile"]["steps"][0]["app"], len(r["profile"]["steps"][0]["top_calls"]), r["profile_reason"])')" \
    "('0', 4, 'calls_c', 3, None)"
  want=$(profile_field "$prof" 'int(sum(x["bytes"]["sum"] for x in d["calls"] if x["layer"] == "mpi" and x["kind"] in ("p2p", "coll", "icoll") and x["name"] not in ("MPI_Barrier", "MPI_Ibarrier")))')
  it_expect_eq "record of the srun job: MPI payload bytes = the profile's" "$(record "$job" 'r["profile"]["steps"][0]["bytes"]["mpi"]')" "$want"
  it_expect_eq "record of the sbatch --tune=profile job: one step (batch script inert)" \
    "$(record "$bjob" '[s["step"] for s in r["profile"]["steps"]]')" "['0']"
  it_expect_eq "record of the --tune=off job: profile null" "$(record "$ojob" 'r["profile"]')" None
  expect_contains "record of the --tune=off job: the reason" "$(record "$ojob" 'r["profile_reason"]')" \
    "no paracloud-profile-$ojob.*.json in $work"
  # Hostile files in the job's directory: a symlink to a root-only file, a FIFO, another user's file,
  # a file over 16 MiB. The record must come at once and read none of them.
  it_sbatch --hold -n 1 -o /dev/null --wrap true
  hjob=$IT_JOB
  ln -s /etc/shadow "$work/paracloud-profile-$hjob.0.json"
  mkfifo "$work/paracloud-profile-$hjob.1.json"
  cp "$prof" "$work/paracloud-profile-$hjob.2.json" && chown nobody "$work/paracloud-profile-$hjob.2.json"
  head -c $((17 * 1024 * 1024)) /dev/zero >"$work/paracloud-profile-$hjob.3.json"
  t0=$SECONDS
  scontrol release "$hjob"
  it_wait_job "$hjob" 30 >/dev/null
  it_expect_eq "hostile profile files: record with profile null" "$(record "$hjob" 'r["profile"]')" None
  it_check "hostile profile files: the record came within 15 s" [ $((SECONDS - t0)) -le 15 ]
  expect_contains "hostile profile files: the reason names the first file" "$(record "$hjob" 'r["profile_reason"]')" \
    "no usable profile in $work: paracloud-profile-$hjob.0.json: is a symbolic link"
  # The same files beside a good one: the good one is summarized, each bad one skipped with its reason.
  it_sbatch --hold -n 1 -o /dev/null --wrap true
  gjob=$IT_JOB
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['job']['id']=sys.argv[2]; json.dump(d, open(sys.argv[3],'w'))" \
    "$prof" "$gjob" "$work/paracloud-profile-$gjob.0.json"
  ln -s /etc/shadow "$work/paracloud-profile-$gjob.1.json"
  mkfifo "$work/paracloud-profile-$gjob.2.json"
  cp "$prof" "$work/paracloud-profile-$gjob.3.json" && chown nobody "$work/paracloud-profile-$gjob.3.json"
  head -c $((17 * 1024 * 1024)) /dev/zero >"$work/paracloud-profile-$gjob.4.json"
  scontrol release "$gjob"
  it_wait_job "$gjob" 30 >/dev/null
  it_expect_eq "good and bad files: steps summarized" "$(record "$gjob" '[s["step"] for s in r["profile"]["steps"]]')" "['0']"
  it_expect_eq "good and bad files: reasons of the skipped ones" \
    "$(record "$gjob" '"; ".join(s["file"].split(".")[1] + " " + s["reason"].split(" (")[0] for s in r["profile"]["skipped"])')" \
    "1 is a symbolic link; 2 is not a regular file; 3 not owned by the job's user; 4 larger than 16777216 bytes"
  rm -f "$work"/paracloud-profile-"$hjob".* "$work"/paracloud-profile-"$gjob".*
fi

it_cluster_down "$IT_RUN"
it_finish
