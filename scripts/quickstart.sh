#!/usr/bin/env bash
# paracloud end to end on one machine: installs dependencies, builds, starts a local Slurm cluster with
# the paracloud plugins, funds a demo account, runs jobs (an MPI job profiled by the runtime, a job
# rejected for funds), and shows the accounting records, the report, the statement and the profile.
# Usage: scripts/quickstart.sh [--no-install] [--keep] [--run-dir DIR]
#   --keep      leave the cluster running (stop it later with: scripts/cluster.sh down --run-dir DIR)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PARACLOUD_BUILD_DIR:-$root/build}
run=$root/run/quickstart
install=1 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-install) install=0 ;;
    --keep) keep=1 ;;
    --run-dir) run=$2; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root (it installs packages and starts Slurm daemons)" >&2; exit 1; }
cd "$root"
if [ $install = 1 ]; then
  step "1. Debian packages and the exact Slurm source (for plugins using internal headers)"
  scripts/install-deps.sh
  scripts/fetch-slurm-src.sh
fi
step "2. Build"
scripts/build.sh "$build"
for so in plugins/job_submit/paracloud/.libs/job_submit_paracloud.so plugins/prep/paracloud/.libs/prep_paracloud.so \
          plugins/jobcomp/paracloud/.libs/jobcomp_paracloud.so plugins/spank/.libs/spank_paracloud.so \
          runtime/.libs/libparacloud_rt.so; do
  [ -f "$build/$so" ] || { echo "quickstart: $build/$so was not built (see the configure summary above)" >&2; exit 1; }
done
pc() { "$build/cli/paracloud" --conf "$run/paracloud.conf" "$@"; }

step "3. paracloud.conf: one site 'demo' with prices per CPU-hour and GB-hour"
scripts/cluster.sh down --run-dir "$run" >/dev/null 2>&1 || true
rm -rf "$run"; mkdir -p "$run"
cat >"$run/paracloud.conf" <<CONF
# paracloud.conf for the quickstart cluster (see paracloud.conf(5))
ClusterName=demo
Currency=CNY
LedgerPath=$run/ledger/ledger.db
AccountingLog=$run/log/accounting.jsonl
SpoolDir=$run/spool-paracloud
DefaultTimeLimit=0:10:00
RefundPolicy=NODE_FAIL
SiteName=demo Description="quickstart site"
PriceName=demo:batch cpu=3.60 mem=0.36
CONF
mkdir -p "$run/ledger" "$run/log" && chmod 700 "$run/ledger"
cat "$run/paracloud.conf"
show pc config check

step "4. The bank: an account for project 'astro', root as its member, a deposit"
show pc bank account add astro --description "Astrophysics group"
show pc bank user add root -A astro --default
show pc bank deposit astro 2.00 --note "prepaid credit"
show pc bank balance astro

step "5. A local Slurm cluster (real slurmctld, 2 slurmd, munged) with the paracloud plugins"
cat >"$run/plugstack.conf" <<PLUG
optional $build/plugins/spank/.libs/spank_paracloud.so default=profile runtime=$build/runtime/.libs/libparacloud_rt.so
PLUG
scripts/cluster.sh up --run-dir "$run/cluster" --name demo --nodes 2 --cpus-per-node 2 \
  --plugin-dir "$build/plugins/job_submit/paracloud/.libs:$build/plugins/prep/paracloud/.libs:$build/plugins/jobcomp/paracloud/.libs" \
  --paracloud-conf "$run/paracloud.conf" --plugstack "$run/plugstack.conf" \
  --set JobSubmitPlugins=paracloud --set PrEpPlugins=paracloud --set JobCompType=jobcomp/paracloud
cleanup() { [ $keep = 1 ] || "$root/scripts/cluster.sh" down --run-dir "$run/cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT
eval "$(scripts/cluster.sh env --run-dir "$run/cluster")"
show sinfo

step "6. What a job would cost, and an unaffordable job rejected at submit"
show pc price quote --partition batch -n 4 -t 2:00:00
set +e
show sbatch -n 4 -t 2:00:00 --wrap "sleep 1"
set -e

step "7. An unchanged MPI program, run through sbatch with the runtime (--tune=profile)"
mkdir -p "$run/jobs"
cat >"$run/jobs/ring.c" <<'SRC'
/* A ring exchange plus a few allreduces: an ordinary MPI program that knows nothing of paracloud. */
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int rank, size; double x = 1.0, sum = 0.0; char buf[4096] = {0};
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = 0; i < 100; i++) {
    MPI_Sendrecv_replace(buf, sizeof buf, MPI_CHAR, (rank + 1) % size, 0, (rank + size - 1) % size, 0,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
  if (rank == 0) printf("ring: %d ranks, sum %.1f\n", size, sum);
  MPI_Finalize();
  return 0;
}
SRC
mpicc -O2 -o "$run/jobs/ring" "$run/jobs/ring.c"
cd "$run/jobs"
# As many ranks as this machine has PUs, up to 4: the runtime binds each rank to its own share of
# the node (more ranks than PUs would be left unbound); step 9 shows the map it applied.
np=$(nproc); [ "$np" -le 4 ] || np=4
show sbatch -n "$np" -t 0:05:00 --tune=profile -o ring-%j.out --wrap "srun --mpi=pmix ./ring"
mpi_job=$(squeue -h -o %i | sort -n | tail -1)
show sbatch -n 1 -t 0:02:00 -o short-%j.out --wrap "sleep 2"
echo "waiting for the jobs to finish and be charged ..."
for _ in $(seq 1 120); do
  [ -z "$(squeue -h)" ] && [ "$(grep -c . "$run/log/accounting.jsonl" 2>/dev/null || echo 0)" -ge 2 ] && break
  sleep 1
done
show cat "ring-$mpi_job.out"

step "8. The accounting records (one JSON line per job) and the report"
echo "$run/log/accounting.jsonl holds one JSON line per job; the MPI job's record:"
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if str(r["job_id"]) == sys.argv[2]: print(json.dumps(r, indent=2, sort_keys=True))' "$run/log/accounting.jsonl" "$mpi_job"
show pc report jobs --log "$run/log/accounting.jsonl"
show pc report --by account --log "$run/log/accounting.jsonl"
show pc bank statement astro
show pc bank balance astro

step "9. The MPI job's profile (its 'binding' lines: the map the runtime applied to each rank)"
show pc profile "$mpi_job" --dir "$run/jobs"
echo "The map paracloud computes for $np ranks on this node (what the runtime applied above):"
show pc bind show -n "$np"

step "done"
if [ $keep = 1 ]; then
  echo "The cluster is still up: eval \"\$(scripts/cluster.sh env --run-dir $run/cluster)\"; stop it with scripts/cluster.sh down --run-dir $run/cluster"
else
  echo "Stopping the cluster (use --keep to leave it running)."
fi
