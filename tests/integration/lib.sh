# Helpers for integration tests against a real local Slurm cluster (scripts/cluster.sh), sourced by bash tests.
# shellcheck shell=bash
# Usage (bash):
#   . "$(dirname "$0")/lib.sh"
#   it_require slurm [dbd] [mpi]   # SKIP (exit 77) unless root and the daemons/tools are installed
#   it_setup [SECONDS]             # scratch dir $IT_DIR (removed on exit), watchdog (default 300 s)
#   it_cluster_up [cluster.sh up options]   # run dir $IT_RUN, exports SLURM_CONF etc.; always torn down
#   it_sbatch --wrap hostname ; it_wait_job "$IT_JOB" 60 ; it_job_state "$IT_JOB"
#   it_check "what" test-command... ; it_finish   # counts ok/FAIL lines, exit 1 if any failed
# Environment: top_srcdir (source tree; default: two levels above this file), IT_KEEP=1 keeps $IT_DIR.

IT_ROOT=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IT_CLUSTER=$IT_ROOT/scripts/cluster.sh
IT_DIR='' IT_RUN='' IT_RUNS=() IT_FAILS=0 IT_CHECKS=0 IT_WATCHDOG='' IT_REMOVE=()  # IT_REMOVE: files it_cleanup deletes

it_skip() { echo "SKIP: $*"; exit 77; }
it_log() { echo "# $*"; }
it_fail() {  # it_fail MESSAGE: fatal failure (cleanup runs from the EXIT trap)
  echo "FAIL: $*"
  exit 1
}
it_ok() { IT_CHECKS=$((IT_CHECKS + 1)); echo "ok   - $*"; }
it_bad() { IT_CHECKS=$((IT_CHECKS + 1)); IT_FAILS=$((IT_FAILS + 1)); echo "FAIL - $*"; }
# it_check WHAT CMD...: runs CMD, records ok/FAIL.
it_check() { local what=$1; shift; if "$@"; then it_ok "$what"; else it_bad "$what"; fi; }
it_expect_eq() { if [ "$2" = "$3" ]; then it_ok "$1: $2"; else it_bad "$1: got '$2', expected '$3'"; return 1; fi; }
it_finish() {
  echo "# $((IT_CHECKS - IT_FAILS))/$IT_CHECKS checks passed"
  [ "$IT_FAILS" -eq 0 ] || exit 1
  exit 0
}

# it_require WHAT...: slurm (root + daemons + clients + munge), dbd (slurmdbd + MariaDB), mpi (mpicc + pmix).
it_require() {
  local w c
  [ "$(id -u)" -eq 0 ] || it_skip "needs root (scripts/cluster.sh runs the Slurm daemons as root)"
  [ -x "$IT_CLUSTER" ] || it_skip "$IT_CLUSTER missing"
  for w in "$@"; do
    case "$w" in
      slurm) for c in slurmctld slurmd munged mungekey sbatch srun squeue scontrol sinfo flock setsid; do
               command -v "$c" >/dev/null || it_skip "$c not installed (scripts/install-deps.sh)"; done ;;
      dbd) for c in slurmdbd sacct sacctmgr mariadbd mariadb-install-db mariadb; do
             command -v "$c" >/dev/null || it_skip "$c not installed (scripts/install-deps.sh: slurmdbd mariadb-server)"; done ;;
      mpi) command -v mpicc >/dev/null || it_skip "mpicc not installed (scripts/install-deps.sh: libopenmpi-dev)"
           ls /usr/lib/x86_64-linux-gnu/slurm-wlm/mpi_pmix*.so >/dev/null 2>&1 || it_skip "Slurm's mpi/pmix plugin is missing" ;;
      *) it_fail "it_require: unknown prerequisite '$w'" ;;
    esac
  done
}

# Processes that still refer to run dir $1: command line, cwd, open files, or the daemon marker in the
# environment (independent of cluster.sh's process sweep). Prints "pid comm" lines; zombies and this shell are ignored.
it_leftovers() {
  local run=$1 p st
  {
    grep -laF "$run/" /proc/[0-9]*/cmdline 2>/dev/null
    grep -lzx "PARACLOUD_CLUSTER_DAEMON=$run" /proc/[0-9]*/environ 2>/dev/null
    find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \( -lname "$run/*" -o -lname "$run" \) 2>/dev/null
  } | cut -d/ -f3 | sort -nu | while read -r p; do
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
    st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    st=${st##*) }; st=${st%% *}
    [ "$st" = Z ] || [ "$st" = X ] && continue
    echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
  done
  return 0
}

# it_setup [SECONDS]: scratch dir and a watchdog that ends the test after SECONDS (default 300).
it_setup() {
  local limit=${1:-300}
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pc-it.XXXXXX") || it_fail "mktemp -d failed"
  chmod 755 "$IT_DIR"  # munged needs every directory above its socket searchable by all
  trap it_cleanup EXIT
  trap 'echo "FAIL: interrupted"; exit 1' INT TERM HUP
  local me=$$
  ( sleep "$limit"; echo "FAIL: watchdog: test still running after $limit s" >&2
    pkill -TERM -P "$me" 2>/dev/null; kill -TERM "$me" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
  IT_WATCHDOG=$!
}
it_cleanup() {
  local rc=$? r
  trap - EXIT INT TERM HUP
  for r in "${IT_RUNS[@]}"; do
    timeout 120 "$IT_CLUSTER" down --run-dir "$r" >>"$IT_DIR/down.log" 2>&1 \
      || { echo "# cluster down failed for $r:"; cat "$IT_DIR/down.log"; }
  done
  [ -z "$IT_WATCHDOG" ] || kill "$IT_WATCHDOG" 2>/dev/null
  for r in "${IT_REMOVE[@]}"; do rm -f -- "$r"; done
  if [ -n "$IT_DIR" ]; then
    if [ "${IT_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "${IT_KEEP_ON_FAIL:-0}" = 1 ]; }; then
      echo "# kept $IT_DIR"
    else
      if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$IT_RUN" ] && [ -d "$IT_RUN/log" ]; then
        echo "# ---- slurmctld.log tail"; tail -n 20 "$IT_RUN/log/slurmctld.log" 2>/dev/null
      fi
      rm -rf "$IT_DIR"
    fi
  fi
  exit $rc
}

# it_cluster_up [OPTIONS]: starts a cluster in a new run dir under $IT_DIR (--run-dir given here),
# registers it for teardown and exports its environment. Sets IT_RUN. Call several times for several clusters.
it_cluster_up() {
  [ -n "$IT_DIR" ] || it_setup
  IT_RUN=$IT_DIR/run${#IT_RUNS[@]}
  IT_RUNS+=("$IT_RUN")
  local t0=$SECONDS
  IT_UP_LOG=$IT_RUN.up.log  # what cluster.sh said (copied to stderr), e.g. which plugin files it checked
  local rc=0
  timeout 180 "$IT_CLUSTER" up --run-dir "$IT_RUN" "$@" 2>"$IT_UP_LOG" || rc=$?
  cat "$IT_UP_LOG" >&2
  [ $rc -eq 0 ] || it_fail "scripts/cluster.sh up $* failed (exit $rc)"
  IT_UP_SECONDS=$((SECONDS - t0))
  eval "$("$IT_CLUSTER" env --run-dir "$IT_RUN")"
}
# it_cluster_down [RUN]: stops it now and checks that nothing of it is left running.
it_cluster_down() {
  local run=${1:-$IT_RUN} left
  timeout 120 "$IT_CLUSTER" down --run-dir "$run" || it_bad "scripts/cluster.sh down --run-dir $run failed"
  left=$(it_leftovers "$run")
  if [ -z "$left" ]; then it_ok "nothing of $run left running after down"
  else it_bad "left running after down: $(echo "$left" | tr '\n' ' ')"; fi
}

# it_sbatch ARGS...: submits and sets IT_JOB to the job id (fails the test when sbatch fails).
it_sbatch() {
  local out
  out=$(timeout 30 sbatch --parsable "$@" 2>&1) || it_fail "sbatch $* failed: $out"
  IT_JOB=${out%%;*}
}
# it_job_state JOBID: JobState from scontrol ("" when unknown).
it_job_state() {
  timeout 10 scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}
# it_wait_job JOBID [SECONDS]: waits until the job has ended; true when it COMPLETED.
it_wait_job() {
  local j=$1 limit=${2:-60} deadline st
  deadline=$((SECONDS + limit))
  while [ $SECONDS -lt "$deadline" ]; do
    st=$(it_job_state "$j")
    case "$st" in
      COMPLETED) return 0 ;;
      FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        echo "# job $j ended $st" >&2; return 1 ;;
    esac
    sleep 0.2
  done
  echo "# job $j not finished after $limit s (state ${st:-unknown})" >&2
  return 1
}
