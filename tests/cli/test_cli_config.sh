#!/bin/sh
# CLI test: paracloud config dump/check/man and price quote/list against scratch config files.
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup

cat >> "$PC_CONF" <<CONF
ClusterName=a DefaultTimeLimit=2:00:00
SiteName=a Description="Partner A"
SiteName=b
PriceName=a:batch cpu=0.12 mem=0.004 node=0 gres/gpu=2.00 gres/gpu:a100=6.50
PriceName=a:* cpu=0.10
PriceName=b:* cpu=0.05
CONF

# --- config check / dump
pc_run 0 config check
pc_out_has "$PC_CONF: valid (2 sites, 3 price lines, currency CNY with 2 decimals)"
pc_run_conf 0 "$top_srcdir/etc/paracloud.conf.example" config check
pc_out_has "valid (2 sites"
# The default file: $PARACLOUD_CONF, else beside $SLURM_CONF.
rc=0; PARACLOUD_CONF=$PC_CONF "$PARACLOUD" config check > "$PC_OUT" 2> "$PC_ERR" || rc=$?
[ $rc = 0 ] || pc_fail "PARACLOUD_CONF: exit $rc"
pc_out_has "$PC_CONF: valid"
rc=0; env -u PARACLOUD_CONF SLURM_CONF="$PC_DIR/slurm.conf" "$PARACLOUD" config check > "$PC_OUT" 2> "$PC_ERR" || rc=$?
[ $rc = 0 ] || pc_fail "SLURM_CONF: exit $rc"
pc_out_has "$PC_DIR/paracloud.conf: valid"

pc_run 0 config dump
pc_out_has "LedgerPath"
pc_out_has "$PC_DIR/ledger.db"
pc_out_has "$PC_CONF:1"          # LedgerPath is on line 1 (pc_setup)
pc_out_has "$PC_CONF:3"          # ClusterName / DefaultTimeLimit
pc_out_has "02:00:00"
pc_out_has "/var/spool/paracloud"
pc_out_has "default"
pc_out_has 'Description="Partner A"'
pc_out_has "PriceName=a:batch"
pc_out_has "gres/gpu:a100=6.50"
pc_run 0 --json config dump
pc_json '{"ClusterName", "LedgerPath", "TuneDefault", "RoutePolicy", "SiteStateDir"} <= {k["name"] for k in j["keys"]} and len(j["sites"]) == 2 and len(j["prices"]) == 3'
pc_json '{k["name"]: k["source"] for k in j["keys"]}["SpoolDir"] == "default"'
pc_json '{k["name"]: k["value"] for k in j["keys"]}["TuneDefault"] == "profile"'
pc_json 'j["prices"][0]["rates"]["gres/gpu:a100"] == "6.50"'

# --- price quote: table, parsable, JSON
# a:batch, 1.5 h: cpu 4 tasks x 2 = 8 x 0.12 x 1.5 = 1.44; mem 3G per node x 2 nodes = 6 GB x 0.004
# x 1.5 = 0.036; node 0; --gpus 1 = 1 gpu x 2.00 x 1.5 = 3.00; --gres gpu:a100:1 per node x 2 nodes
# x 6.50 x 1.5 = 19.50. Exact sum 23.976 CNY -> rounded up once to 23.98 CNY.
Q="price quote -M a --partition batch -n 4 -c 2 --mem 3G -N 2 --gres gpu:a100:1 --gpus 1 -t 1:30:00"
pc_run 0 $Q
pc_out_has "TRES"
pc_out_has "gres/gpu:a100"
pc_out_has "6144M"
pc_out_has "19.50"
pc_out_has "total 23.98 CNY for 01:30:00 at a:batch"
pc_run 0 -p $Q
pc_out_has "cpu|8|0.12|cpu-hour|1.44|"
pc_out_has "mem|6144M|0.004|GB-hour|0.04|"
pc_run 0 --json $Q
pc_json 'j["total_minor"] == 2398 and j["total"] == "23.98" and j["currency"] == "CNY"'
pc_json 'j["seconds"] == 5400 and j["site"] == "a" and j["partition"] == "batch"'
pc_json '[l["tres"] for l in j["lines"]] == ["cpu", "mem", "node", "gres/gpu", "gres/gpu:a100"]'
pc_json '[l["cost_minor"] for l in j["lines"]] == [144, 4, 0, 300, 1950]'
# Defaults: site = ClusterName (a), partition none -> a:*, 1 task, DefaultTimeLimit 2 h: 1 x 0.10 x 2 = 0.20.
pc_run 0 --json price quote
pc_json 'j["total_minor"] == 20 and j["time"] == "02:00:00" and j["rule"].endswith(":7")'
# --mem-per-cpu and site b: 3 cpus x 0.05 x 10 min = 0.025 -> 0.03 (mem unpriced on b:* = 0).
pc_run 0 --json price quote --site b -n 3 --mem-per-cpu 1G -t 10
pc_json 'j["total_minor"] == 3 and j["lines"][1]["units"] == 3072'

# --- price list
pc_run 0 price list
pc_out_has "gres/gpu:a100"
pc_out_has "CNY/GB-hour"
pc_run 0 --json price list --site b
pc_json 'len(j) == 3 and all(r["site"] == "b" for r in j)'

# --- bad input: exit codes and messages that name the input
pc_run 5 price quote -t 1h
pc_err_has "invalid duration '1h'"
pc_err_has "expected"
pc_run 5 price quote --mem 4X
pc_err_has "invalid --mem '4X'"
pc_run 5 price quote --gres gpu:a100:2:x
pc_err_has "invalid --gres"
pc_run 5 price quote -n 0
pc_run 3 price quote -M zz
pc_err_has "unknown site 'zz'"
pc_run 4 price quote --partition batch --gres fpga:1
pc_err_has "no price for gres/fpga"
pc_run 4 price quote -M b --gpus 1
pc_err_has "gres/gpu"
pc_run 3 price list --site zz
pc_run 2 price quote --no-such-flag
pc_run 2 --mem 4G price quote
pc_run 2 --mem 4G price quote --mem-per-cpu 1G
pc_run 2 price quote --mem 4G --mem-per-cpu 1G

# --- config errors: exit 6, file:line and key named
printf 'LedgerPath=/x\nSiteName=a\nPriceName=a:* cpus=1\n' > "$PC_DIR/bad.conf"
pc_run_conf 6 "$PC_DIR/bad.conf" config check
pc_err_has "$PC_DIR/bad.conf:3: key 'cpus'"
pc_err_has "did you mean 'cpu'"
pc_run_conf 6 "$PC_DIR/bad.conf" price quote   # every command reads the config first
printf 'CurrencyDigits=9\n' > "$PC_DIR/digits.conf"
pc_run 6 config check "$PC_DIR/digits.conf"      # FILE argument wins over --conf
pc_err_has "digits.conf:1: key 'CurrencyDigits'"
pc_run 6 config check "$PC_DIR/nope.conf"
pc_err_has "nope.conf: no such file"
printf 'Include missing.conf\n' > "$PC_DIR/inc.conf"
pc_run 6 config check "$PC_DIR/inc.conf"
pc_err_has "inc.conf:1: Include '$PC_DIR/missing.conf'"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod 0755 "$PC_DIR"; chmod 0600 "$PC_CONF"
  rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$PARACLOUD" --conf "$PC_CONF" config check \
    > "$PC_OUT" 2> "$PC_ERR" || rc=$?
  [ $rc = 6 ] || pc_fail "unreadable config as nobody: exit $rc, expected 6"
  pc_err_has "$PC_CONF: cannot read"
  pc_err_has "permissions"
  chmod 0644 "$PC_CONF"
else
  echo "note: not root: the unreadable-file check is skipped"
fi

# --- config man: the key reference, one entry per key of the option table
pc_run 0 config man
for key in ClusterName Currency CurrencyDigits LedgerPath AccountingLog SpoolDir DefaultTimeLimit \
           RefundPolicy LienGrace TuneDefault SiteName Cluster Description PriceName cpu mem node; do
  pc_out_has "\\fB$key\\fR="
done
pc_out_has '.SS "PriceName lines"'
pc_out_lacks "@OPTIONS@"

echo "PASS: config and price commands"
