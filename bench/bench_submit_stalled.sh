#!/usr/bin/env bash
# job_submit's decision with a MariaDB ledger, server running vs SIGSTOPped (issue 16 item 4):
# starts a private mariadbd (temp datadir, socket, 127.0.0.1 port), runs bench_submit_stalled
# against it, and stops it again (resumed first, whatever happens). Needs root, mariadbd and
# mariadb-install-db, a build with libmariadb. BENCH = the bench_submit_stalled binary; CALLS, USERS.
set -uo pipefail
BENCH=${BENCH:-./bench_submit_stalled}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (mariadbd runs as root here)"; exit 0; }
for c in mariadbd mariadb-install-db mariadb; do
  command -v "$c" >/dev/null || { echo "SKIP: $c not installed (scripts/install-deps.sh: mariadb-server)"; exit 0; }
done
[ -x "$BENCH" ] || { echo "bench-submit-stalled: $BENCH not built"; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/pc-bench-stall.XXXXXX") || exit 1
SOCK=$D/sock MPID=''
PORT=$((38000 + $$ % 2000))
cleanup() {
  if [ -n "$MPID" ]; then
    kill -CONT "$MPID" 2>/dev/null
    kill "$MPID" 2>/dev/null
    for _ in $(seq 100); do [ -d "/proc/$MPID" ] && ! grep -q '^State:.*Z' "/proc/$MPID/status" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$MPID" 2>/dev/null
  fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mariadb-install-db --no-defaults --datadir="$D/data" --user=root --auth-root-authentication-method=socket \
  --skip-test-db --skip-name-resolve --force >"$D/install.log" 2>&1 || { cat "$D/install.log"; exit 1; }
mariadbd --no-defaults --datadir="$D/data" --socket="$SOCK" --pid-file="$D/pid" --port="$PORT" \
  --bind-address=127.0.0.1 --user=root --skip-name-resolve --log-error="$D/error.log" \
  --innodb-buffer-pool-size=64M >"$D/out.log" 2>&1 &
MPID=$!
sql() { mariadb --no-defaults -S "$SOCK" -u root "$@"; }
for _ in $(seq 300); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
sql -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$D/error.log"; echo "mariadbd did not start"; exit 1; }
PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PASS" >"$D/pass"
chmod 600 "$D/pass"
sql -e "CREATE USER 'paracloud'@'127.0.0.1' IDENTIFIED BY '$PASS'; GRANT ALL ON \`pcbench\`.* TO 'paracloud'@'127.0.0.1';
  CREATE DATABASE pcbench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" || exit 1
echo "# mariadbd $(sql -N -e 'SELECT VERSION()') on 127.0.0.1:$PORT (TCP), pid $MPID; $(nproc) CPUs"
"$BENCH" --ledger "mysql://paracloud@127.0.0.1:$PORT/pcbench?passfile=$D/pass" --server-pid "$MPID" \
  --calls "${CALLS:-20000}" --users "${USERS:-200}"
