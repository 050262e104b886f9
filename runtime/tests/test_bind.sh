#!/usr/bin/env bash
# Binding (issue 11 item 3): MPI ranks started by mpirun end up bound as `paracloud bind show`
# predicts (read back inside the program with sched_getaffinity); the user's explicit binding and a
# taskset mask are kept; mpirun's default binding is replaced; PARACLOUD_BIND=none/keep bind
# nothing; more ranks than PUs are left unbound; a bad PARACLOUD_BIND value is named in a warning;
# the profile says what was done. The plain runs show the test can fail: unbound they differ.
. "$(dirname "$0")/lib.sh"
need_mpi
prog=$PC_TESTBIN/bind_c
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
[ -f "$(dirname "$PC_RT")/libparacloud_bind.so" ] || skip "libparacloud_bind.so not built (configure found no hwloc)"
[ -x "${PC_CLI:-}" ] || { echo "FAIL: the paracloud CLI ($PC_CLI) is not built"; exit 1; }
unset OMP_NUM_THREADS OMP_PLACES OMP_PROC_BIND SLURM_CPUS_PER_TASK PARACLOUD_BIND
ncpu=$(nproc)
mkdir -p "$work/prof1" "$work/prof2" "$work/profk"

# cpus_of FILE RANK: the cpulist rank RANK printed (as "0,1,2": compared after normalising).
cpus_of() { sed -n "s/^rank $2 cpus \([^ ]*\) .*/\1/p" "$1"; }
# expand "0-2,5" -> "0,1,2,5"
expand() { echo "$1" | tr ',' '\n' | awk -F- 'NF==2{for(i=$1;i<=$2;i++)print i;next}{print}' | paste -sd, -; }
all=$(expand "0-$((ncpu - 1))")

# 1. mpirun --bind-to none (lib.sh's default for every runtime test): every rank bound as predicted.
for np in 1 2; do
  [ "$np" -le "$ncpu" ] || continue
  PRELOAD= run_mpi "$np" "$work/plain$np" "$prog" || fail "plain np $np exited $?"
  PRELOAD="$PC_RT" PARACLOUD_PROFILE_DIR="$work/prof$np" PARACLOUD_BIND=auto,verbose run_mpi "$np" "$work/rt$np" "$prog" \
    || { fail "np $np with the preload exited $?"; cat "$work/rt$np.err"; continue; }
  "$PC_CLI" bind show -n "$np" > "$work/show$np" 2>&1 || fail "paracloud bind show -n $np: $(cat "$work/show$np")"
  for ((r = 0; r < np; r++)); do
    want=$(expand "$(sed -n "s/^rank $r: cpus \([^ ]*\) .*/\1/p" "$work/show$np")")
    got=$(cpus_of "$work/rt$np" $r)
    plain=$(cpus_of "$work/plain$np" $r)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "np $np rank $r bound to $got as paracloud bind show predicts"
    else fail "np $np rank $r runs on '$got', paracloud bind show says '$want'"; cat "$work/rt$np.err"; fi
    [ "$plain" = "$all" ] || fail "np $np rank $r: the plain run (--bind-to none) is not unbound ($plain)"
  done
  grep -q "bind: rank 0 of $np (mpirun): spread applied" "$work/rt$np.err" \
    && ok "np $np: verbose line" || fail "np $np: no verbose line: $(cat "$work/rt$np.err")"
  prof=$(profiles_in "$work/prof$np")
  if "$PYTHON3" - "$prof" "$np" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); b = d["binding"]
assert d["minor_version"] >= 3, d["minor_version"]
assert b["request"] == "auto" and b["ranks_applied"] == n and b["ranks_kept"] == 0, b
assert b["rank0"]["action"] == "applied" and b["rank0"]["launcher"] == "mpirun", b
assert b["rank0"]["omp_places"].startswith("{") and b["rank0"]["omp_proc_bind"] == "spread", b
PY
  then ok "np $np: profile binding object"; else fail "np $np: profile binding object ($prof)"; fi
done

# 1b. OpenMP (libgomp linked): each rank's threads get the map's thread count (the share of the
# node when OMP_NUM_THREADS is unset, through omp_set_num_threads) and run inside its cpus.
omp=$PC_TESTBIN/bind_omp
if [ "$ncpu" -ge 2 ] && [ -x "$omp" ]; then
  PRELOAD= run_mpi 2 "$work/omp.plain" "$omp" || fail "bind_omp plain exited $?"
  PRELOAD="$PC_RT" PARACLOUD_BIND=verbose run_mpi 2 "$work/omp" "$omp" || fail "bind_omp exited $?"
  want_threads=$(sed -n 's/^policy .* threads \([0-9]*\) .*/\1/p' "$work/show2")
  for r in 0 1; do
    cpus=$(expand "$(sed -n "s/^rank $r: cpus \([^ ]*\) .*/\1/p" "$work/show2")")
    line=$(grep "^rank $r " "$work/omp")
    threads=$(echo "$line" | awk '{print $4}'); ran=$(echo "$line" | awk '{print $6}')
    outside=$(comm -23 <(echo "$ran" | tr ',' '\n' | sort) <(echo "$cpus" | tr ',' '\n' | sort))
    if [ "$threads" = "$want_threads" ] && [ -z "$outside" ]; then
      ok "OpenMP rank $r: $threads thread(s) on $ran, inside its cpus $cpus"
    else
      fail "OpenMP rank $r: '$line', want $want_threads thread(s) inside $cpus"; cat "$work/omp.err"
    fi
  done
  grep -q "^rank 0 threads $ncpu " "$work/omp.plain" || fail "plain OpenMP run: $(cat "$work/omp.plain")"
fi

# 2. The user's explicit --bind-to core is kept (np 1: auto would give the rank every core).
if [ "$ncpu" -ge 2 ]; then
  OMPI_MCA_hwloc_base_binding_policy=core PRELOAD="$PC_RT" PARACLOUD_PROFILE_DIR="$work/profk" \
    PARACLOUD_BIND=verbose run_mpi 1 "$work/kept" "$prog" || fail "--bind-to core run exited $?"
  got=$(cpus_of "$work/kept" 0)
  [ "$(echo "$got" | tr ',' '\n' | grep -c .)" = 1 ] && ok "--bind-to core kept ($got)" \
    || fail "--bind-to core: rank 0 runs on '$got', want one core"
  grep -q "kept cpus .*the user's binding (mpirun --bind-to core)" "$work/kept.err" \
    && ok "--bind-to core: kept, and said why" || fail "--bind-to core: $(cat "$work/kept.err")"
  grep -q "places - bind -" "$work/kept" && ok "kept: OMP_* left alone" || fail "kept: OMP_* set: $(cat "$work/kept")"
  "$PYTHON3" -c 'import json,sys; b=json.load(open(sys.argv[1]))["binding"]; assert b["ranks_kept"]==1 and b["rank0"]["action"]=="kept", b' \
    "$(profiles_in "$work/profk")" && ok "kept: profile" || fail "kept: profile"

  # 3. mpirun's default (no --bind-to: np 1 binds to a core) is replaced by the map.
  OMPI_MCA_hwloc_base_binding_policy= PRELOAD= run_mpi 1 "$work/defplain" "$prog"
  OMPI_MCA_hwloc_base_binding_policy= PRELOAD="$PC_RT" PARACLOUD_BIND=verbose run_mpi 1 "$work/def" "$prog"
  plain=$(cpus_of "$work/defplain" 0); got=$(cpus_of "$work/def" 0)
  want=$(expand "$(sed -n 's/^rank 0: cpus \([^ ]*\) .*/\1/p' "$work/show1")")
  [ "$got" = "$want" ] && [ "$plain" != "$want" ] && ok "mpirun's default ($plain) replaced by the map ($got)" \
    || fail "mpirun default: plain '$plain', with the preload '$got', map '$want'"

  # 4. A singleton under taskset keeps its mask.
  (cd "$work" && PARACLOUD_BIND=verbose LD_PRELOAD="$PC_RT" timeout 60 taskset -c 1 "$prog" > "$work/ts" 2> "$work/ts.err")
  [ "$(cpus_of "$work/ts" 0)" = 1 ] && grep -q "singleton.*kept.*taskset" "$work/ts.err" \
    && ok "taskset -c 1 kept" || fail "taskset: $(cat "$work/ts" "$work/ts.err")"
fi

# 5. PARACLOUD_BIND=none and keep bind nothing; a bad value is named, and auto is used.
for word in none keep; do  # (not $v: run_mpi uses it)
  PRELOAD="$PC_RT" PARACLOUD_BIND=$word run_mpi 1 "$work/$word" "$prog"
  [ "$(cpus_of "$work/$word" 0)" = "$all" ] && grep -q "places - bind -" "$work/$word" \
    && ok "PARACLOUD_BIND=$word: unbound, OMP_* unset" || fail "PARACLOUD_BIND=$word: $(cat "$work/$word")"
done
PRELOAD="$PC_RT" PARACLOUD_BIND=fastest run_mpi 1 "$work/bad" "$prog"
grep -q "PARACLOUD_BIND item 'fastest' is not one of auto|spread|compact|numa|none|keep" "$work/bad.err" \
  && ok "bad PARACLOUD_BIND named" || fail "bad PARACLOUD_BIND: $(cat "$work/bad.err")"
grep -q "^rank 0 cpus" "$work/bad" && ok "bad PARACLOUD_BIND: the program ran" || fail "bad PARACLOUD_BIND: no output"

# 6. More ranks than PUs: left unbound (as mpirun leaves oversubscribed ranks).
np=$((ncpu + 1))
PRELOAD="$PC_RT" PARACLOUD_BIND=verbose run_mpi "$np" "$work/over" "$prog"
[ "$(cpus_of "$work/over" 0)" = "$all" ] && grep -q "skipped.*more ranks ($np) than PUs" "$work/over.err" \
  && ok "np $np on $ncpu PUs: left unbound, said why" || fail "oversubscribed: $(cat "$work/over" "$work/over.err")"

# 7. mpi4py (libmpi loaded with dlopen): bound in MPI_Init, every thread of the process.
if [ "$ncpu" -ge 2 ] && /usr/bin/python3 -c 'import mpi4py' 2>/dev/null; then
  PRELOAD="$PC_RT" PARACLOUD_BIND=verbose run_mpi 2 "$work/py" /usr/bin/python3 -c \
    'from mpi4py import MPI; import os; print("rank %d cpus %s places -" % (MPI.COMM_WORLD.rank, ",".join(map(str, sorted(os.sched_getaffinity(0))))))'
  for r in 0 1; do
    want=$(expand "$(sed -n "s/^rank $r: cpus \([^ ]*\) .*/\1/p" "$work/show2")")
    # (mpirun may glue the two ranks' lines together: the rank's words are picked out anywhere)
    [ "$(grep -o "rank $r cpus [0-9,]*" "$work/py" | awk '{print $4}')" = "$want" ] && ok "mpi4py rank $r bound to $want" \
      || fail "mpi4py rank $r: $(cat "$work/py" "$work/py.err")"
  done
else
  echo "SKIP (part): mpi4py check: python3-mpi4py not installed or fewer than 2 PUs"
fi

# 8. Not an MPI rank (a shell under the preload): never bound, nothing loaded.
(LD_PRELOAD="$PC_RT" PARACLOUD_BIND=verbose OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=2 \
  bash -c 'grep Cpus_allowed_list /proc/self/status; grep -c libparacloud_bind /proc/self/maps' > "$work/sh" 2>&1)
grep -q "^0$" "$work/sh" && ! grep -q "bind:" "$work/sh" && ok "a shell is never bound" || fail "shell: $(cat "$work/sh")"
finish
