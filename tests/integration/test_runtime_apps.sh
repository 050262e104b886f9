#!/usr/bin/env bash
# Real MPI applications under libparacloud_rt: LAMMPS (melt) and HPCC at mpirun -np 2, with and without the preload: identical physics/verification output and plausible profiles.
# Run from scripts/run-tests.sh (PARACLOUD_BUILD = build tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_runtime_apps.sh
# Needs Debian's lammps and hpcc packages (each part is skipped with the reason when absent). ~10 s on 2 cores.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
rt=$build/runtime/.libs/libparacloud_rt.so
PC=$build/cli/paracloud
command -v mpirun >/dev/null || it_skip "mpirun not installed (apt-get install openmpi-bin)"
command -v python3 >/dev/null || it_skip "python3 not installed"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
lmp=''
for c in lmp lmp_openmpi lmp_mpi; do command -v "$c" >/dev/null && { lmp=$(command -v "$c"); break; }; done
hpcc=$(command -v hpcc || true)
[ -n "$lmp" ] || [ -n "$hpcc" ] || it_skip "neither LAMMPS (lmp) nor hpcc is installed (apt-get install lammps hpcc)"
it_setup 180
work=$IT_DIR
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PARACLOUD_TUNE PARACLOUD_DISABLE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR LD_PRELOAD SLURM_JOB_ID SLURM_STEP_ID

# profile_field FILE PYTHON-EXPR: evaluates EXPR with d = the profile and c = {name: call} ("-" for a missing call).
profile_field() {
  python3 - "$1" "$2" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.defaultdict(lambda: {"count": {"sum": 0}, "bytes": {"sum": 0}}, {x["name"]: x for x in d["calls"]})
print(eval(sys.argv[2]))
EOF
}
# run DIR PRELOAD(0|1) CMD...: runs CMD under mpirun -np 2 in DIR; with PRELOAD=1 the ranks get the runtime
# and write DIR/profile.json. stdout to DIR/stdout, stderr to DIR/stderr.
run() {
  local dir=$1 pre=$2; shift 2
  local x=()
  [ "$pre" = 1 ] && x=(-x "LD_PRELOAD=$rt" -x "PARACLOUD_PROFILE=$dir/profile.json")
  (cd "$dir" && timeout 120 mpirun -np 2 "${x[@]}" "$@" >"$dir/stdout" 2>"$dir/stderr")
}
check_profile() {  # check_profile APP FILE
  local app=$1 p=$2
  if [ ! -s "$p" ]; then it_bad "$app: no profile written ($p)"; return 1; fi
  it_expect_eq "$app profile: ranks" "$(profile_field "$p" 'd["ranks"]')" 2
  it_expect_eq "$app profile: app name" "$(profile_field "$p" 'd["app"]["name"]')" "$(basename "$3")"
  it_check "$app profile: MPI calls > 100" [ "$(profile_field "$p" 'int(d["layers"]["mpi"]["calls"]["sum"])')" -gt 100 ]
  it_check "$app profile: MPI_Allreduce present" [ "$(profile_field "$p" 'c["MPI_Allreduce"]["count"]["sum"]')" -gt 0 ]
  it_check "$app profile: MPI_Sendrecv present" [ "$(profile_field "$p" 'c["MPI_Sendrecv"]["count"]["sum"]')" -gt 0 ]
  it_check "$app profile: MPI payload bytes > 0" [ "$(profile_field "$p" 'int(sum(x["bytes"]["sum"] for x in d["calls"]))')" -gt 0 ]
  # Not bounded above: on a busy 2-core host a preempted sampled call, weighted by the sampling
  # rate, can push the estimate past 100% (seen: 113% for hpcc); see the runtime's "timer".
  it_check "$app profile: MPI time % > 0" \
    python3 -c "import json,sys; v=json.load(open('$p'))['mpi_time_pct']; sys.exit(0 if v > 0 else 1)"
  local rep
  rep=$("$PC" profile "$p" 2>&1) || it_bad "$app: paracloud profile failed: $rep"
  case "$rep" in *"Top MPI calls by time"*"Message sizes"*) it_ok "$app: paracloud profile reports it" ;;
    *) it_bad "$app: paracloud profile report: $(echo "$rep" | head -5)" ;; esac
}

# ---------------------------------------------------------------- LAMMPS melt
if [ -z "$lmp" ]; then
  it_log "SKIP LAMMPS part: lmp not installed (apt-get install lammps)"
else
  mkdir -p "$work/lmp.plain" "$work/lmp.rt"
  melt=$IT_ROOT/tests/integration/data/melt.lmp   # 250 steps, thermo every 50
  thermo() { awk '/^Step /{on=1} on && /^Loop time/{on=0} on' "$1"; }
  run "$work/lmp.plain" 0 "$lmp" -in "$melt" -log none || it_bad "LAMMPS without the preload exited $?: $(tail -3 "$work/lmp.plain/stderr")"
  run "$work/lmp.rt" 1 "$lmp" -in "$melt" -log none || it_bad "LAMMPS with the preload exited $?: $(tail -3 "$work/lmp.rt/stderr")"
  a=$(thermo "$work/lmp.plain/stdout") b=$(thermo "$work/lmp.rt/stdout")
  it_expect_eq "LAMMPS: thermo lines (step 0..250 every 50)" "$(echo "$a" | grep -cE '^ +[0-9]+ ')" 6
  if [ -n "$a" ] && [ "$a" = "$b" ]; then it_ok "LAMMPS: identical thermo output with and without the preload"
  else it_bad "LAMMPS: thermo output differs:"; diff <(echo "$a") <(echo "$b") | head -10; fi
  it_expect_eq "LAMMPS: no stderr with the preload" "$(grep -v '^$' "$work/lmp.rt/stderr" | head -3)" ""
  check_profile LAMMPS "$work/lmp.rt/profile.json" "$lmp"
  p=$work/lmp.rt/profile.json
  # LAMMPS' halo exchange posts an Irecv, does a Send and waits, per swap: the three counts agree.
  it_expect_eq "LAMMPS profile: MPI_Send = MPI_Irecv = MPI_Wait counts" \
    "$(profile_field "$p" 'len({c["MPI_Send"]["count"]["sum"], c["MPI_Irecv"]["count"]["sum"], c["MPI_Wait"]["count"]["sum"]})')" 1
fi

# ---------------------------------------------------------------- HPCC
if [ -z "$hpcc" ]; then
  it_log "SKIP HPCC part: hpcc not installed (apt-get install hpcc)"
else
  mkdir -p "$work/hpcc.plain" "$work/hpcc.rt"
  # A tiny problem: HPL N=400 NB=40 on a 1x2 grid (the other tests size themselves from it).
  cat >"$work/hpcc.plain/hpccinf.txt" <<'EOF'
HPLinpack benchmark input file
Innovative Computing Laboratory, University of Tennessee
HPL.out      output file name (if any)
8            device out (6=stdout,7=stderr,file)
1            # of problems sizes (N)
400          Ns
1            # of NBs
40           NBs
0            PMAP process mapping (0=Row-,1=Column-major)
1            # of process grids (P x Q)
1            Ps
2            Qs
16.0         threshold
1            # of panel fact
2            PFACTs (0=left, 1=Crout, 2=Right)
1            # of recursive stopping criterium
4            NBMINs (>= 1)
1            # of panels in recursion
2            NDIVs
1            # of recursive panel fact.
1            RFACTs (0=left, 1=Crout, 2=Right)
1            # of broadcast
1            BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)
1            # of lookahead depth
1            DEPTHs (>=0)
2            SWAP (0=bin-exch,1=long,2=mix)
64           swapping threshold
0            L1 in (0=transposed,1=no-transposed) form
0            U  in (0=transposed,1=no-transposed) form
1            Equilibration (0=no,1=yes)
8            memory alignment in double (> 0)
##### This line (no. 32) is ignored (it serves as a separator). ######
0                      		Number of additional problem sizes for PTRANS
1200 10000 30000        	values of N
0                       	number of additional blocking sizes for PTRANS
40 9 8 13 13 20 16 32 64       	values of NB
EOF
  cp "$work/hpcc.plain/hpccinf.txt" "$work/hpcc.rt/"
  run "$work/hpcc.plain" 0 "$hpcc" || it_bad "hpcc without the preload exited $?"
  run "$work/hpcc.rt" 1 "$hpcc" || it_bad "hpcc with the preload exited $?"
  # Verification results: PASSED lines, residuals, norms and error counts (not timings).
  verdicts() {
    { grep -cE 'PASSED' "$1"; grep -E 'FAILED|Failure' "$1"
      sed -n '/Begin of Summary section/,/End of Summary section/p' "$1" |
        grep -E '^(Success|Failure|HPL_[A-Za-z]*norm[A-Za-z0-9]*|HPL_N|PTRANS_residual|MPIRandomAccess(_LCG)?_Errors|MPIFFT_maxErr|FFT_N)='; } 2>/dev/null
  }
  a=$(verdicts "$work/hpcc.plain/hpccoutf.txt") b=$(verdicts "$work/hpcc.rt/hpccoutf.txt")
  it_expect_eq "HPCC: Success=1 without the preload" "$(echo "$a" | grep '^Success=')" "Success=1"
  it_check "HPCC: several PASSED lines" [ "$(echo "$a" | head -1)" -ge 5 ]
  if [ -n "$a" ] && [ "$a" = "$b" ]; then it_ok "HPCC: identical verification lines, residuals and norms with and without the preload"
  else it_bad "HPCC: verification output differs:"; diff <(echo "$a") <(echo "$b") | head -10; fi
  check_profile HPCC "$work/hpcc.rt/profile.json" "$hpcc"
fi
it_finish
