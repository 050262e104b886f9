#!/usr/bin/env bash
# The ledger on MariaDB: starts a private mariadbd (temp datadir, socket, 127.0.0.1 port), creates a
# database user, runs the unchanged ledger unit tests against it (PARACLOUD_TEST_LEDGER), then the
# CLI over TCP with LedgerPassFile, and checks the CLI's error once the server is gone.
# Needs: root, mariadbd + mariadb-install-db, a build with libmariadb ($PARACLOUD_BUILD, default ./build).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || it_skip "needs root (mariadbd runs as root here, like scripts/cluster.sh --dbd)"
for c in mariadbd mariadb-install-db mariadb; do
  command -v "$c" >/dev/null || it_skip "$c not installed (scripts/install-deps.sh: mariadb-server)"
done
BUILD=${PARACLOUD_BUILD:-$IT_ROOT/build}
UNIT=$BUILD/tests/unit
for t in test_ledger test_ledger_concurrency test_ledger_mariadb; do
  [ -x "$UNIT/$t" ] || it_skip "$UNIT/$t not built (make check in $BUILD)"
done
grep -q '^#define HAVE_MARIADB 1' "$BUILD/config.h" 2>/dev/null \
  || it_skip "$BUILD was configured without libmariadb (apt-get install libmariadb-dev, re-run configure)"

it_setup 600
D=$IT_DIR/mariadb SOCK=$IT_DIR/mariadb/sock MPID=''
PORT=$((34000 + $$ % 2000))
mkdir -p "$D"
stop_mariadb() {
  [ -n "$MPID" ] || return 0
  kill "$MPID" 2>/dev/null
  for _ in $(seq 100); do [ -d "/proc/$MPID" ] && ! grep -q '^State:.*Z' "/proc/$MPID/status" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$MPID" 2>/dev/null
  MPID=''
}
trap 'rc=$?; stop_mariadb; (exit $rc); it_cleanup' EXIT  # it_setup's cleanup runs too
mariadb-install-db --no-defaults --datadir="$D/data" --user=root --auth-root-authentication-method=socket \
  --skip-test-db --skip-name-resolve --force >"$D/install.log" 2>&1 || { cat "$D/install.log"; it_fail "mariadb-install-db failed"; }
mariadbd --no-defaults --datadir="$D/data" --socket="$SOCK" --pid-file="$D/pid" --port="$PORT" \
  --bind-address=127.0.0.1 --user=root --skip-name-resolve --log-error="$D/error.log" \
  --innodb-buffer-pool-size=64M >"$D/out.log" 2>&1 &
MPID=$!
sql() { mariadb --no-defaults -S "$SOCK" -u root "$@"; }
for _ in $(seq 300); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
sql -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$D/error.log"; it_fail "mariadbd did not accept connections within 30 s"; }
it_log "mariadbd $(sql -N -e 'SELECT VERSION()') on 127.0.0.1:$PORT, socket $SOCK"

PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PASS" >"$D/ledger.pass"
chmod 600 "$D/ledger.pass"
sql -e "CREATE USER 'paracloud'@'127.0.0.1' IDENTIFIED BY '$PASS'; CREATE USER 'paracloud'@'localhost' IDENTIFIED BY '$PASS';
  GRANT ALL ON \`pctest%\`.* TO 'paracloud'@'127.0.0.1'; GRANT ALL ON \`pctest%\`.* TO 'paracloud'@'localhost';" \
  || it_fail "could not create the database user"

# Criterion binary NAME under URL: passes when Criterion reports no failure and ran something.
run_unit() {
  local name=$1 url=$2 log=$IT_DIR/$1.$3.log
  PARACLOUD_TEST_LEDGER=$url "$UNIT/$name" --verbose >"$log" 2>&1
  local rc=$? synth
  synth=$(grep -a 'Synthesis' "$log" | tail -1 | sed 's/.*Synthesis: //')
  if [ $rc -eq 0 ] && grep -q 'Failing: 0 | Crashing: 0' <<<"$synth"; then
    it_ok "$name over $3: $synth"
  else
    it_bad "$name over $3 (exit $rc): $synth"
    grep -a -E 'FAIL|Assertion|ledger ' "$log" | head -20
  fi
  grep -a '^\[SKIP\]' "$log" | sed 's/^/# /'
}
TCP="mysql://paracloud@127.0.0.1:$PORT/pctest?passfile=$D/ledger.pass"
UNIX="mariadb://paracloud@localhost/pctest?socket=$SOCK&passfile=$D/ledger.pass"
run_unit test_ledger "$TCP" tcp
run_unit test_ledger_mariadb "$TCP" tcp
run_unit test_ledger_concurrency "$TCP" tcp
run_unit test_ledger "$UNIX" socket
it_expect_eq "test databases dropped" "$(sql -N -e "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'pctest%'")" 0

# The CLI with LedgerPath=mysql://... and LedgerPassFile=: the password never on the command line.
PC=$BUILD/cli/paracloud
if [ -x "$PC" ]; then
  sql -e "CREATE DATABASE pctest_cli CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  CONF=$IT_DIR/paracloud.conf
  printf 'LedgerPath=mysql://paracloud@127.0.0.1:%s/pctest_cli\nLedgerPassFile=%s\nCurrency=CNY\n' "$PORT" "$D/ledger.pass" >"$CONF"
  export PARACLOUD_CONF=$CONF
  it_check "cli: account add over MariaDB" "$PC" bank account add proj
  it_check "cli: deposit over MariaDB" "$PC" bank deposit proj 12.50 --key dep-1
  out=$("$PC" bank balance proj 2>&1)
  it_check "cli: balance shows 12.50 ($out)" grep -q '12.50' <<<"$out"
  it_expect_eq "journal row written to MariaDB" "$(sql -N -e 'SELECT amount FROM pctest_cli.journal')" 1250
  stop_mariadb
  out=$("$PC" bank balance proj 2>&1); rc=$?
  it_expect_eq "cli: exit status with the server down (storage)" "$rc" 7
  it_check "cli: error names the server and database ($out)" grep -q "mysql://paracloud@127.0.0.1:$PORT/pctest_cli" <<<"$out"
  it_check "cli: error says how to fix it" grep -q 'running and reachable' <<<"$out"
else
  it_bad "cli not built: $PC"
fi
it_finish
