#!/usr/bin/env bash
# Compatibility suite: real, packaged programs under libparacloud_rt in every mode. Each program runs
# without the preload, then with it under PARACLOUD_TUNE=off, profile, auto and auto again (the
# second auto run starts from the first one's tuning store), at -np 1 and 2 where it is an MPI
# program. Every run must exit as the plain run did with the same (filtered) stdout; the profile
# modes must leave one profile with plausible counts.
#   mpi4py (p2p, collectives, split, MPI-IO), h5py serial, h5py driver="mpio", netCDF4-python, h5py
#   and netCDF4 in one process (two libhdf5 copies), R with Rmpi, an MPICH program, LAMMPS, HPCC,
#   a C++ std::thread program with MPI_THREAD_MULTIPLE, and a C program that dlopens and dlcloses
#   an HDF5 plugin three times (RTLD_LOCAL, as Python loads extension modules).
# Run from scripts/run-tests.sh (PARACLOUD_BUILD = build tree), or by hand:
#   PARACLOUD_BUILD=/path/to/build bash tests/integration/test_compat.sh [NAME-PATTERN]
# A program whose package is missing is skipped with the reason (scripts/install-deps.sh installs
# them all); the test SKIPs only when none can run. ~3-5 min on 2 cores.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
rt=$build/runtime/.libs/libparacloud_rt.so
data=$IT_ROOT/tests/integration/data
compat=$data/compat
only=${1:-}
command -v mpirun >/dev/null || it_skip "mpirun not installed (apt-get install openmpi-bin)"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
py=/usr/bin/python3  # Debian's python, where python3-mpi4py/h5py/netcdf4 are installed
it_setup 1500
work=$IT_DIR
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PARACLOUD_TUNE PARACLOUD_DISABLE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR PARACLOUD_PROFILE_NONMPI \
  PARACLOUD_APPS_INCLUDE PARACLOUD_APPS_EXCLUDE PARACLOUD_LOG LD_PRELOAD SLURM_JOB_ID SLURM_STEP_ID \
  PARACLOUD_TUNE_FORCE PARACLOUD_TUNE_DIR PARACLOUD_TUNE_SITE_DIR
ran=0 skipped=()

have_py() { [ -x "$py" ] && "$py" -c "import $1" >/dev/null 2>&1; }
skip_prog() { skipped+=("$1: $2"); it_log "SKIP $1: $2"; }

# profile_ok FILE PYTHON-EXPR: EXPR over d (the profile) and c[name] (its call, zero counts when absent).
profile_ok() {
  "$py" - "$1" "$2" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
zero = {"count": {"sum": 0}, "bytes": {"sum": 0}}
c = collections.defaultdict(lambda: zero, {x["name"]: x for x in d["calls"]})
n = lambda name: c[name]["count"]["sum"]
ok = eval(sys.argv[2])
if not ok:
    print("profile check failed: " + sys.argv[2] + "; counts: " +
          ", ".join("%s=%d" % (x["name"], x["count"]["sum"]) for x in d["calls"]))
sys.exit(0 if ok else 1)
EOF
}

# check NAME NP LAUNCH FILTER PROFILE_EXPR -- CMD...
#   LAUNCH: ompi (mpirun -np NP), mpich (mpiexec.mpich -n NP), serial (no launcher, NP 1)
#   FILTER: a shell function reading the run directory's stdout (and files) and printing what must
#           be identical; PROFILE_EXPR: the profile check ("none": no profile may be written).
# Runs the program plain, then off / profile / auto / auto (second run, same store) with the
# preload, each in its own directory (cwd), and compares.
check() {
  local name=$1 np=$2 launch=$3 filter=$4 expect=$5; shift 6
  local tag="$name np$np" base=$work/$name.np$np mode dir rc0 rc out0 out prof n
  local pre=() env_common=() launcher=()
  case $launch in
    ompi) launcher=(timeout 300 mpirun -np "$np") ;;
    mpich) launcher=(timeout 300 mpiexec.mpich -n "$np") ;;
    serial) launcher=(timeout 300) ;;
  esac
  # Serial (non-MPI) programs are profiled only when asked: PARACLOUD_PROFILE_NONMPI=1.
  [ "$launch" = serial ] && env_common=(PARACLOUD_PROFILE_NONMPI=1)
  ran=$((ran + 1))
  for mode in plain off profile auto auto2; do
    dir=$base.$mode
    mkdir -p "$dir/prof"
    pre=()
    if [ $mode != plain ]; then
      pre=(env LD_PRELOAD="$rt" PARACLOUD_TUNE="${mode%2}" PARACLOUD_PROFILE_DIR="$dir/prof"
           PARACLOUD_TUNE_DIR="$base.store" PARACLOUD_TUNE_SITE_DIR="$base.site" "${env_common[@]}")
    fi
    (cd "$dir" && "${launcher[@]}" "${pre[@]}" "$@" >"$dir/stdout" 2>"$dir/stderr")
    rc=$?
    if [ $mode = plain ]; then
      rc0=$rc
      out0=$($filter "$dir")
      if [ $rc0 -ne 0 ] || [ -z "$out0" ]; then
        it_bad "$tag: the plain run (no preload) exited $rc0 with output '$(echo "$out0" | head -2)': $(tail -3 "$dir/stderr")"
        return
      fi
      continue
    fi
    out=$($filter "$dir")
    if [ $rc -eq $rc0 ] && [ "$out" = "$out0" ]; then
      it_ok "$tag $mode: exit $rc and output identical to the plain run"
    else
      it_bad "$tag $mode: exit $rc (plain $rc0), output $( [ "$out" = "$out0" ] && echo same || echo differs)"
      diff <(echo "$out0") <(echo "$out") | head -8
      tail -5 "$dir/stderr"
    fi
    if grep -q 'the call fails\|defined nowhere\|not found' "$dir/stderr"; then
      it_bad "$tag $mode: the runtime reported a missing symbol: $(grep -m1 'paracloud' "$dir/stderr")"
    fi
    prof=$(ls "$dir"/prof/*.json 2>/dev/null)
    n=$(echo "$prof" | grep -c .)
    if [ "$expect" = none ]; then
      it_expect_eq "$tag $mode: profiles written (the runtime stays out of the way)" "$n" 0
    elif [ $mode = off ]; then
      it_expect_eq "$tag off: profiles written" "$n" 0
    elif [ "$n" -ne 1 ]; then
      it_bad "$tag $mode: expected one profile, found $n: $prof"
    else
      if out=$(profile_ok "$prof" "$expect"); then it_ok "$tag $mode: profile counts ($expect)"
      else it_bad "$tag $mode: $out"; fi
      if [ $mode = auto2 ]; then
        # When the first auto run saved decisions, the second one starts from them.
        local saved
        saved=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("tuning",{}).get("store_saved") or "")' \
          "$(ls "$base".auto/prof/*.json | head -1)" 2>/dev/null)
        if [ -n "$saved" ]; then
          profile_ok "$prof" "d['tuning']['store_loaded'] == '$saved'" >/dev/null \
            && it_ok "$tag auto2: started from the first auto run's tuning store" \
            || it_bad "$tag auto2: the first run saved $saved, the second did not load it"
        fi
      fi
    fi
  done
}

# Filters: what of a run must be identical to the plain run.
plain_out() { cat "$1/stdout"; }
# Ranks' unsynchronised prints: mpirun may interleave their bytes, so only the multiset of characters.
sorted_chars() { grep -o . "$1/stdout" | sort | tr -d '\n'; }
rmpi_out() { grep -o 'rmpi: [0-9 ]*' "$1/stdout"; }
h5_file_ok() { "$py" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r")["x"][...].sum())' "$1/s.h5" 2>&1; }
nc_file_ok() { "$py" -c 'import netCDF4,sys; print(netCDF4.Dataset(sys.argv[1]).data_model)' "$1/t.nc" 2>&1; }

# ---------------------------------------------------------------- Python
if ! have_py mpi4py; then skip_prog mpi4py "python3-mpi4py not installed"
elif [ -z "$only" ] || [[ mpi4py == *$only* ]]; then
  for np in 1 2; do
    check mpi4py $np ompi plain_out \
      'n("MPI_Init_thread") + n("MPI_Init") == d["ranks"] and n("MPI_Allreduce") >= 80 * d["ranks"] and n("MPI_Bcast") >= 4 and n("MPI_File_write_at_all") == d["ranks"] and n("MPI_File_open") >= d["ranks"] and c["MPI_Allreduce"]["bytes"]["sum"] > 0' \
      -- "$py" "$compat/mpi4py_app.py" mpiio.dat
  done
  # The issue's own one-liner: every rank prints its rank.
  check mpi4py-rank 2 ompi sorted_chars 'd["ranks"] == 2' \
    -- "$py" -c 'from mpi4py import MPI; print(MPI.COMM_WORLD.rank)'
fi

if ! have_py h5py; then skip_prog h5py "python3-h5py not installed"
elif [ -z "$only" ] || [[ h5py-serial == *$only* ]]; then
  check h5py-serial 1 serial plain_out 'n("H5Fcreate") == 1 and n("H5Fopen") == 1 and n("H5Dwrite") >= 5 and n("H5Dread") >= 3 and c["H5Dwrite"]["bytes"]["sum"] >= 240080' \
    -- "$py" "$compat/h5py_serial.py" s.h5
  # The issue's one-liner (and it is not even an MPI program).
  check h5py-oneliner 1 serial h5_file_ok 'n("H5Fcreate") == 1' \
    -- "$py" -c 'import h5py, numpy; h5py.File("s.h5","w")["x"] = numpy.arange(10.)'
fi

if ! have_py mpi4py || ! [ -d /usr/lib/python3/dist-packages/h5py/_debian_h5py_mpi ]; then
  skip_prog h5py-mpio "python3-h5py-mpi not installed"
elif [ -z "$only" ] || [[ h5py-mpio == *$only* ]]; then
  for np in 1 2; do
    check h5py-mpio $np ompi plain_out \
      'n("H5Fcreate") == d["ranks"] and n("H5Dwrite") >= 2 * d["ranks"] and n("MPI_File_open") >= d["ranks"]' \
      -- env H5PY_ALWAYS_USE_MPI=1 "$py" "$compat/h5py_mpio.py" p.h5
  done
fi

if ! have_py netCDF4; then skip_prog netCDF4 "python3-netcdf4 not installed"
elif [ -z "$only" ] || [[ netcdf4 == *$only* ]]; then
  check netcdf4 1 serial plain_out 'n("H5Fcreate") == 1 and n("H5Fopen") == 1 and n("H5Dwrite") >= 5' \
    -- "$py" "$compat/netcdf4_app.py" t.nc
  check netcdf4-oneliner 1 serial nc_file_ok 'n("H5Fcreate") == 1' \
    -- "$py" -c 'import netCDF4; netCDF4.Dataset("t.nc", "w").close()'
  if have_py mpi4py && [ -d /usr/lib/python3/dist-packages/h5py/_debian_h5py_mpi ]; then
    # h5py's libhdf5_openmpi and netCDF4's libhdf5_serial in one process: each caller must reach
    # its own copy (a hid_t of one copy means nothing to the other).
    for np in 1 2; do
      check h5py-and-netcdf4 $np ompi plain_out 'n("H5Fcreate") == 2 * d["ranks"] and n("H5Fopen") == d["ranks"] + 1' \
        -- env H5PY_ALWAYS_USE_MPI=1 "$py" "$compat/h5py_netcdf4.py" p.h5 t
    done
  fi
fi

# ---------------------------------------------------------------- R
if ! command -v Rscript >/dev/null || ! Rscript -e 'library(Rmpi)' >/dev/null 2>&1 </dev/null; then
  skip_prog Rmpi "r-cran-rmpi not installed"
elif [ -z "$only" ] || [[ rmpi == *$only* ]]; then
  for np in 1 2; do
    check rmpi $np ompi rmpi_out 'n("MPI_Allreduce") >= d["ranks"] and n("MPI_Bcast") >= d["ranks"]' \
      -- Rscript "$compat/rmpi_app.R"
  done
fi

# ---------------------------------------------------------------- C, C++ (built here)
mkdir -p "$work/bin"
if ! command -v mpicc.mpich >/dev/null || ! command -v mpiexec.mpich >/dev/null; then
  skip_prog MPICH "mpich not installed"
elif [ -z "$only" ] || [[ mpich == *$only* ]]; then
  if mpicc.mpich -O1 -o "$work/bin/mpich_app" "$compat/mpich_app.c" 2>"$work/mpich.cc.log"; then
    for np in 1 2; do
      check mpich $np mpich plain_out none -- "$work/bin/mpich_app"
      grep -q 'MPICH, not Open MPI' "$work/mpich.np$np.profile/stderr" \
        && it_ok "mpich np$np: the runtime says once why it stays out of the way" \
        || it_bad "mpich np$np: no 'MPICH, not Open MPI' line: $(head -3 "$work/mpich.np$np.profile/stderr")"
    done
  else
    it_bad "MPICH program does not build: $(head -5 "$work/mpich.cc.log")"
  fi
fi

if [ -z "$only" ] || [[ threads == *$only* ]]; then
  if mpicxx -O1 -std=c++17 -pthread -o "$work/bin/threads_app" "$compat/threads_app.cpp" 2>"$work/threads.cc.log"; then
    for np in 1 2; do
      check threads $np ompi plain_out \
        'n("MPI_Allreduce") == 800 * d["ranks"] and n("MPI_Sendrecv") == 800 * d["ranks"] and n("MPI_Bcast") == 800 * d["ranks"] and n("MPI_Init_thread") == d["ranks"]' \
        -- "$work/bin/threads_app"
    done
  else
    it_bad "threads program does not build: $(head -5 "$work/threads.cc.log")"
  fi
fi

h5serial=$(ls /usr/lib/x86_64-linux-gnu/libhdf5_serial.so.103 2>/dev/null)
if [ -z "$h5serial" ]; then
  skip_prog dlcycle "libhdf5_serial.so.103 not installed (libhdf5-103-1)"
elif [ -z "$only" ] || [[ dlcycle == *$only* ]]; then
  if cc -O1 -shared -fPIC -o "$work/bin/h5user.so" "$compat/h5user.c" "$h5serial" 2>"$work/dl.cc.log" &&
     cc -O1 -o "$work/bin/dlcycle_app" "$compat/dlcycle_app.c" 2>>"$work/dl.cc.log"; then
    check dlcycle 1 serial plain_out 'n("H5Fcreate") == 3 and n("H5Dwrite") == 3 and n("H5Dread") == 3 and c["H5Dwrite"]["bytes"]["sum"] == 1200' \
      -- "$work/bin/dlcycle_app" "$work/bin/h5user.so" c.h5
    grep -q 'reserved 3 times' "$work/dlcycle.np1.profile/stderr" \
      && it_ok "dlcycle: libhdf5 was really unloaded and reloaded elsewhere each cycle" \
      || it_log "dlcycle: libhdf5 not unloaded each cycle here: $(tail -1 "$work/dlcycle.np1.profile/stderr")"
  else
    it_bad "dlcycle programs do not build: $(head -5 "$work/dl.cc.log")"
  fi
fi

# ---------------------------------------------------------------- LAMMPS, HPCC
lmp=''
for c in lmp lmp_openmpi lmp_mpi; do command -v "$c" >/dev/null && { lmp=$(command -v "$c"); break; }; done
thermo() { awk '/^Step /{on=1} on && /^Loop time/{on=0} on' "$1/stdout"; }
if [ -z "$lmp" ]; then skip_prog LAMMPS "lammps not installed"
elif [ -z "$only" ] || [[ lammps == *$only* ]]; then
  for np in 1 2; do
    check lammps $np ompi thermo 'n("MPI_Allreduce") > 0 and n("MPI_Send") == n("MPI_Irecv")' \
      -- "$lmp" -in "$data/melt.lmp" -log none
  done
fi

hpcc=$(command -v hpcc || true)
# PTRANS prints its "CPU" line only when the measured CPU time is above zero (clock granularity:
# 5 lines more or fewer between runs of the same program), so only HPL's and the WALL lines count.
verdicts() {
  { grep -vE '^CPU ' "$1/hpccoutf.txt" | grep -cE 'PASSED'; grep -E 'FAILED|Failure' "$1/hpccoutf.txt"
    sed -n '/Begin of Summary section/,/End of Summary section/p' "$1/hpccoutf.txt" |
      grep -E '^(Success|Failure|HPL_N|MPIRandomAccess(_LCG)?_Errors|FFT_N)='; } 2>/dev/null
}
if [ -z "$hpcc" ]; then skip_prog HPCC "hpcc not installed"
elif [ -z "$only" ] || [[ hpcc == *$only* ]]; then
  for np in 1 2; do
    for mode in plain off profile auto auto2; do
      mkdir -p "$work/hpcc.np$np.$mode"
      sed -e "s/^1            Ps/1            Ps/" -e "s/^2            Qs/$np            Qs/" \
        "$data/hpccinf.txt" >"$work/hpcc.np$np.$mode/hpccinf.txt"
    done
    check hpcc $np ompi verdicts 'n("MPI_Allreduce") > 0 and n("MPI_Bcast") > 0' -- "$hpcc"
  done
fi

[ "$ran" -gt 0 ] || it_skip "none of the compatibility programs can run here: ${skipped[*]}"
[ ${#skipped[@]} -eq 0 ] || it_log "skipped: ${skipped[*]}"
it_finish
