#!/bin/bash
# Issue 16 item 11: a user with HOME unset and no passwd entry had the tuning store in the shared
# /tmp/.cache/paracloud/tune (every such user read and wrote the same files, and the rules file
# Open MPI was given came from there). Now the store is off for that run, with one log line.
. "$PC_SRCDIR/tests/lib.sh"
. "$PC_SRCDIR/tests/coll_lib.sh"
need_coll
[ "$(id -u)" = 0 ] || skip "needs root to run as a uid without a passwd entry"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not found"
uid=54321
while getent passwd "$uid" >/dev/null; do uid=$((uid + 1)); done
shared=/tmp/.cache/paracloud/tune
before=$(ls "$shared" 2>/dev/null | sort)
chmod 755 "$work"
# The build tree must be readable by that uid (a checkout under a 0700 directory, e.g. mktemp -d, is not).
setpriv --reuid="$uid" --regid="$uid" --clear-groups test -x "$coll_prog" -a -r "$PC_RT" \
  || skip "uid $uid cannot reach $coll_prog or $PC_RT (a parent directory is not searchable by others)"
mkdir -p "$work/run" && chown "$uid:$uid" "$work/run"
# The ranks run as $uid with no HOME and no PARACLOUD_TUNE_DIR (lib.sh sets one: removed here).
# mpirun needs a HOME and PMIx crashes without one: the ranks get an empty HOME (the same as none
# for the store).
(cd "$work/run" && HOME="$work/run" timeout 120 setpriv --reuid="$uid" --regid="$uid" \
  --clear-groups env -u PARACLOUD_TUNE_DIR "$MPIRUN" --oversubscribe -np 2 \
  env HOME= LD_PRELOAD="$PC_RT" PARACLOUD_TUNE=auto PARACLOUD_PROFILE="$work/run/p.json" \
  "$coll_prog" loop 50 >"$work/out" 2>"$work/err") || { fail "the run exited $?"; cat "$work/err"; }
after=$(ls "$shared" 2>/dev/null | sort)
new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$')
if [ -z "$new" ]; then
  ok "nothing written to the shared $shared"
else
  fail "written to the shared $shared: $new"
  for f in $new; do rm -rf "${shared:?}/$f"; done  # leave /tmp as it was
  rmdir "$shared" /tmp/.cache/paracloud /tmp/.cache 2>/dev/null  # only when empty
fi
n=$(grep -c "tuning store disabled: HOME is not set and uid $uid has no passwd entry" "$work/err")
[ "$n" = 1 ] && ok "one log line says why the store is off" \
  || { fail "$n 'tuning store disabled' lines"; cat "$work/err"; }
finish
