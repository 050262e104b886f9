#!/usr/bin/env bash
# Issue 16 item 4 on a real slurmctld with a MariaDB ledger: while the database server is frozen
# (SIGSTOP), sbatch still gets an answer at once - accepted from job_submit's in-memory snapshot,
# and once that snapshot is too old, rejected with "ledger unavailable, retry" - instead of
# slurmctld blocking for the database's timeouts under its job write lock (80 s before).
# The 10 s below only bounds a hung command; nothing here asserts a latency (bench-submit-stalled does).
# Needs: root, mariadbd + mariadb-install-db, a build with libmariadb.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_require slurm
for c in mariadbd mariadb-install-db mariadb; do
  command -v "$c" >/dev/null || it_skip "$c not installed (scripts/install-deps.sh: mariadb-server)"
done
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
plugin_dir=$build/plugins/job_submit/paracloud/.libs
[ -f "$plugin_dir/job_submit_paracloud.so" ] || it_skip "plugin not built: make -C $build/plugins/job_submit/paracloud"
PC=$build/cli/paracloud
[ -x "$PC" ] || it_skip "paracloud CLI not built: make -C $build/cli"
grep -q '^#define HAVE_MARIADB 1' "$build/config.h" 2>/dev/null || it_skip "$build was configured without libmariadb"
it_setup 300
W=$IT_DIR
cd "$W" || it_fail "cd $W"

D=$W/mariadb SOCK=$W/mariadb/sock MPID=''
PORT=$((36000 + $$ % 2000))
mkdir -p "$D"
stop_mariadb() {
  [ -n "$MPID" ] || return 0
  kill -CONT "$MPID" 2>/dev/null
  kill "$MPID" 2>/dev/null
  for _ in $(seq 100); do [ -d "/proc/$MPID" ] && ! grep -q '^State:.*Z' "/proc/$MPID/status" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$MPID" 2>/dev/null
  MPID=''
}
# The server is thawed first so that slurmctld's teardown cannot hang on it.
trap 'rc=$?; [ -z "$MPID" ] || kill -CONT "$MPID" 2>/dev/null; for r in "${IT_RUNS[@]}"; do timeout 120 "$IT_CLUSTER" down --run-dir "$r" >/dev/null 2>&1; done; IT_RUNS=(); stop_mariadb; (exit $rc); it_cleanup' EXIT
mariadb-install-db --no-defaults --datadir="$D/data" --user=root --auth-root-authentication-method=socket \
  --skip-test-db --skip-name-resolve --force >"$D/install.log" 2>&1 || { cat "$D/install.log"; it_fail "mariadb-install-db failed"; }
mariadbd --no-defaults --datadir="$D/data" --socket="$SOCK" --pid-file="$D/pid" --port="$PORT" \
  --bind-address=127.0.0.1 --user=root --skip-name-resolve --log-error="$D/error.log" \
  --innodb-buffer-pool-size=64M >"$D/out.log" 2>&1 &
MPID=$!
sql() { mariadb --no-defaults -S "$SOCK" -u root "$@"; }
for _ in $(seq 300); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
sql -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$D/error.log"; it_fail "mariadbd did not accept connections within 30 s"; }
PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PASS" >"$D/ledger.pass"
chmod 600 "$D/ledger.pass"
sql -e "CREATE USER 'paracloud'@'127.0.0.1' IDENTIFIED BY '$PASS'; GRANT ALL ON \`pcstall\`.* TO 'paracloud'@'127.0.0.1';
  CREATE DATABASE pcstall CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" || it_fail "could not create the database user"

conf=$W/paracloud.conf
cat >"$conf" <<EOF
ClusterName=pcstall
LedgerPath=mysql://paracloud@127.0.0.1:$PORT/pcstall
LedgerPassFile=$D/ledger.pass
AccountingLog=$W/accounting.jsonl
SpoolDir=$W/spool
DefaultTimeLimit=1:00:00
LedgerSnapshotMaxAge=8
SiteName=pcstall
PriceName=pcstall:* cpu=0.10
EOF
export PARACLOUD_CONF=$conf
pc() { "$PC" --conf "$conf" "$@"; }
{
  pc bank account add proj && pc bank user add root -A proj --default && pc bank deposit proj 100
} >"$W/bank.log" 2>&1 || { cat "$W/bank.log"; it_fail "funding the ledger"; }

it_cluster_up --name pcstall --nodes 1 --cpus-per-node 2 --plugin-dir "$plugin_dir" \
  --paracloud-conf "$conf" --set JobSubmitPlugins=paracloud
out=$(timeout 30 sbatch --hold -n 1 -t 10 --wrap true 2>&1)
case "$out" in "Submitted batch job"*) it_ok "accepted while the server runs" ;; *) it_bad "server running: '$out'" ;; esac

kill -STOP "$MPID"
it_log "mariadbd $MPID stopped (SIGSTOP)"
t0=$SECONDS
out=$(timeout 10 sbatch --hold -n 1 -t 10 --wrap true 2>&1)
rc=$?
it_log "sbatch with the server stopped: rc $rc after $((SECONDS - t0)) s: $out"
it_check "sbatch returns while the server is stopped (not killed by timeout 10)" test "$rc" -ne 124
case "$out" in
  "Submitted batch job"*|*"ledger is unavailable"*"retry"*) it_ok "answered from the snapshot or failed closed" ;;
  *) it_bad "answer with the server stopped: '$out'" ;;
esac
# Past LedgerSnapshotMaxAge (8 s) the snapshot no longer speaks for the ledger: fail closed.
sleep 10
t0=$SECONDS
out=$(timeout 10 sbatch --hold -n 1 -t 10 --wrap true 2>&1)
rc=$?
it_log "sbatch 10 s later: rc $rc after $((SECONDS - t0)) s: $out"
it_check "sbatch returns after the snapshot expired" test "$rc" -ne 124
case "$out" in *"ledger is unavailable"*"retry"*) it_ok "rejected: ledger unavailable, retry" ;;
  *) it_bad "expected a fail-closed rejection, got '$out'" ;; esac
it_check "squeue answers while the server is stopped" timeout 10 squeue -h

kill -CONT "$MPID"
it_log "mariadbd resumed"
ok=0
for _ in $(seq 40); do
  out=$(timeout 10 sbatch --hold -n 1 -t 10 --wrap true 2>&1)
  case "$out" in "Submitted batch job"*) ok=1; break ;; esac
  sleep 0.5
done
it_check "accepted again after the server resumed ($out)" test "$ok" = 1
scancel -u root 2>/dev/null
it_finish
