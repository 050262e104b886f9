#!/bin/sh
# CLI test: a new operator's walk through `paracloud bank` on a scratch ledger, with exit codes and messages.
set -u
. "${top_srcdir:?top_srcdir is not set}/tests/cli/lib.sh"
pc_setup

# Accounts and members.
pc_run 0 bank account add proj --description "demo project"
pc_out_has "account 'proj' created"
pc_run 4 bank account add proj
pc_err_has "already exists"
pc_run 0 bank account add cred --credit-limit 10 --parent proj
pc_run 0 bank user add alice -A proj
pc_out_has "default account: proj"
pc_run 3 bank user add bob -A ghost
pc_err_has "unknown account 'ghost'"
pc_err_has "paracloud bank account add ghost"

# Deposit (generated key printed), balance.
pc_run 0 bank deposit proj 100.50
pc_out_has "deposit 100.50 CNY on account 'proj' (key deposit-proj-"
pc_run 0 bank deposit proj 20 --key dep-2 --note "top up"
pc_run 0 bank deposit proj 20 --key dep-2 --note "top up"
pc_out_has "already done earlier with this key, nothing changed"
pc_run 4 bank deposit proj 21 --key dep-2
pc_err_has "idempotency key 'dep-2' was already used"
pc_run 0 bank balance proj
pc_out_has "120.50 CNY"
pc_run 0 -p bank balance -A proj
pc_out_has "proj|120.50|0.00|0.00|120.50|"

# Hold, charge against the hold, refund.
pc_run 0 bank hold proj 30 --key hold-1 --job c:1 --for 1:00:00
pc_out_has "available 90.50 CNY"
pc_run 4 bank hold proj 100 --key hold-2
pc_err_has "90.50 CNY available"
pc_err_has "deposit funds"
pc_run 0 bank charge proj 25 --key charge-1 --hold hold-1 --job c:1
pc_out_has "balance 95.50 CNY, held 0.00 CNY, available 95.50 CNY"
pc_run 0 bank refund charge-1 5 --key refund-1 --note "node failure"
pc_out_has "balance 100.50 CNY"
pc_run 4 bank refund charge-1 20.01
pc_err_has "exceeds what remains refundable of charge 'charge-1': 20.00 CNY"
pc_run 3 bank refund no-such-charge 1
pc_run 0 bank hold proj 10 --key hold-3
pc_run 0 bank release hold-3
pc_out_has "release 10.00 CNY"
pc_run 3 bank release hold-3 --key other-release
pc_err_has "no longer active"

# Statement: table, -p, --json.
pc_run 0 bank statement proj
pc_out_has "BalanceAfter"
pc_out_has "refund-1"
pc_run 0 -p bank statement proj -S now-1days -E now
pc_out_has "refund-1"
pc_run 5 bank statement proj -S now -E now-1days
pc_err_has "is before start time"
pc_run 5 bank statement proj -S yesterday-ish
pc_err_has "invalid time 'yesterday-ish'"
pc_run 0 -p bank statement proj -S now-1days
[ "$(grep -c '|' "$PC_OUT")" = 8 ] || pc_fail "expected a header and 7 entries in -p statement"
pc_out_has "|charge|25.00|95.50|charge-1|hold-1|c:1|"
pc_run 0 --json bank statement proj
pc_json "j['account'] == 'proj' and j['currency'] == 'CNY' and len(j['entries']) == 7"
pc_json "[e['kind'] for e in j['entries']] == ['deposit','deposit','lien','charge','refund','lien','release']"
pc_json "j['entries'][4]['amount'] == '5.00' and j['entries'][4]['ref'] == 'charge-1' and j['entries'][4]['note'] == 'node failure'"
pc_json "j['balance']['balance'] == '100.50' and j['balance']['available'] == '100.50'"
pc_run 0 --json bank balance cred
pc_json "j['available'] == '10.00' and j['credit_limit'] == '10.00' and j['balance'] == '0.00'"
pc_run 0 bank account show proj
pc_out_has "alice (default)"
pc_run 0 --json bank account list
pc_json "sorted(a['account'] for a in j) == ['cred', 'proj'] and [a['parent'] for a in j if a['account'] == 'cred'] == ['proj']"

# Bad input: nothing may change.
pc_run 0 -p bank statement proj
before=$(cat "$PC_OUT")
pc_run 5 bank deposit proj abc
pc_err_has "invalid amount 'abc'"
pc_run 5 bank hold proj -3
pc_run 5 bank deposit proj 0
pc_err_has "must not be zero"
pc_run 5 bank deposit proj 1.234
pc_run 5 bank deposit proj 92233720368547758.08
pc_err_has "too large"
pc_run 5 bank deposit proj 92233720368547758.07
pc_err_has "overflow"
pc_run 4 bank deposit proj -200
pc_err_has "only 100.50 CNY is available"
pc_run 3 bank deposit ghost 10
pc_err_has "unknown account 'ghost'"
pc_run 3 bank balance ghost
pc_run 2 bank deposit proj
pc_run 2 bank charge proj 1
pc_run 0 -p bank statement proj
[ "$(cat "$PC_OUT")" = "$before" ] || pc_fail "a refused command changed the journal"

# Storage errors: missing directory; a non-writer (only as root, dropping to nobody).
printf 'LedgerPath=%s/missing/ledger.db\nCurrency=CNY\n' "$PC_DIR" > "$PC_DIR/bad.conf"
rc=0; "$PARACLOUD" --conf "$PC_DIR/bad.conf" bank balance proj > "$PC_OUT" 2> "$PC_ERR" || rc=$?
[ $rc = 7 ] || pc_fail "missing ledger directory: exit $rc, expected 7"
pc_err_has "does not exist"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod 0755 "$PC_DIR"; chmod 0644 "$PC_DIR/ledger.db" "$PC_CONF"
  rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$PARACLOUD" --conf "$PC_CONF" bank deposit proj 1 \
    > "$PC_OUT" 2> "$PC_ERR" || rc=$?
  [ $rc = 7 ] || pc_fail "deposit as nobody: exit $rc, expected 7"
  pc_err_has "only SlurmUser/root can change balances"
  rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$PARACLOUD" --conf "$PC_CONF" -p bank balance proj \
    > "$PC_OUT" 2> "$PC_ERR" || rc=$?
  [ $rc = 0 ] || pc_fail "balance as nobody (read-only): exit $rc, expected 0"
  pc_out_has "proj|100.50|"
else
  echo "note: not root: the non-writer check is skipped"
fi
echo "PASS: test_cli_bank"
