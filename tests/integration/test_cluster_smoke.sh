#!/usr/bin/env bash
# Integration smoke test of scripts/cluster.sh: 2 nodes, sbatch, srun -N2, an MPI job over pmix on 4 ranks, clean down; then --dbd with sacct.
# Run as root: bash tests/integration/test_cluster_smoke.sh   (IT_SMOKE_DBD=0 skips the --dbd part)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm mpi
it_setup 300

# ---------------------------------------------------------------- an MPI program that must talk
cat >"$IT_DIR/ranks.c" <<'EOF'
/* Prints rank, size, node and the sum of all ranks (an allreduce across the nodes). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  int rank = 0, size = 0, sum = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  const char* node = getenv("SLURMD_NODENAME");
  printf("rank %d of %d on %s sum %d\n", rank, size, node ? node : "?", sum);
  MPI_Finalize();
  return 0;
}
EOF
mpicc -o "$IT_DIR/ranks" "$IT_DIR/ranks.c" || it_fail "mpicc could not build the test program"

# ---------------------------------------------------------------- plain cluster
it_cluster_up --nodes 2 --name smoke
it_log "up (2 nodes) took $IT_UP_SECONDS s"
run=$IT_RUN
it_expect_eq "sinfo node count" "$(timeout 10 sinfo -h -N -o '%N' | sort -u | wc -l)" 2

cd "$IT_DIR" || it_fail "cd $IT_DIR"
it_sbatch --wrap hostname -o "$IT_DIR/batch.%j.out"
it_check "sbatch --wrap hostname completes" it_wait_job "$IT_JOB" 60
it_expect_eq "batch output" "$(cat "$IT_DIR/batch.$IT_JOB.out" 2>/dev/null)" "$(hostname)"

# stdout only: srun may say on stderr that it waits for the previous job's resources
err=$IT_DIR/srun.err
out=$(timeout 60 srun -N2 printenv SLURMD_NODENAME 2>"$err")
it_expect_eq "srun -N2 runs on both nodes" "$(echo "$out" | sort | tr '\n' ' ')" "node1 node2 " || cat "$err"
out=$(timeout 60 srun -N2 hostname 2>"$err")
it_expect_eq "srun -N2 hostname" "$(echo "$out" | sort -u)" "$(hostname)" || cat "$err"

out=$(timeout 90 srun --mpi=pmix -N2 -n4 "$IT_DIR/ranks" 2>"$err")
rc=$?
it_expect_eq "srun --mpi=pmix -n4 exit status" "$rc" 0
it_expect_eq "MPI ranks seen" "$(echo "$out" | grep -o '^rank [0-9]* of 4' | sort | tr '\n' ',')" \
  "rank 0 of 4,rank 1 of 4,rank 2 of 4,rank 3 of 4,"
it_expect_eq "MPI allreduce sum on every rank" "$(echo "$out" | grep -c ' sum 6$')" 4
it_expect_eq "MPI ranks on both nodes" "$(echo "$out" | grep -o 'on node[0-9]*' | sort -u | tr '\n' ' ')" "on node1 on node2 "
[ $rc -eq 0 ] || { echo "$out" | head -20; head -20 "$err"; }

it_cluster_down "$run"

# ---------------------------------------------------------------- with slurmdbd
if [ "${IT_SMOKE_DBD:-1}" = 0 ]; then
  it_log "SKIP --dbd part (IT_SMOKE_DBD=0)"
elif ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  it_log "SKIP --dbd part: slurmdbd or mariadbd not installed (scripts/install-deps.sh)"
else
  it_cluster_up --nodes 2 --name smokedbd --dbd
  it_log "up --dbd took $IT_UP_SECONDS s"
  run=$IT_RUN
  it_sbatch -N2 --wrap 'srun hostname' -o /dev/null
  it_check "job on the --dbd cluster completes" it_wait_job "$IT_JOB" 60
  acct=
  for _ in $(seq 1 50); do  # the record reaches slurmdbd asynchronously
    acct=$(timeout 10 sacct -X -n -P -j "$IT_JOB" -o JobID,Cluster,State 2>&1)
    case "$acct" in *COMPLETED*) break ;; esac
    sleep 0.2
  done
  it_expect_eq "sacct shows the job" "$acct" "$IT_JOB|smokedbd|COMPLETED"
  it_expect_eq "sacctmgr knows the cluster" "$(timeout 10 sacctmgr -n -P show cluster format=cluster)" "smokedbd"
  it_cluster_down "$run"
fi
it_finish
