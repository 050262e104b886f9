#!/usr/bin/env bash
# The preload in a privileged process (issue 16 item 10): in a set-user-ID exec (AT_SECURE) the
# environment belongs to a less privileged user, so the runtime reads none of it and stays inert:
# no PARACLOUD_LOG file is created, no profile is written, the program runs unchanged.
# ld.so preloads into such a process only a library from the standard directories that has the
# set-user-ID bit, named without a slash: the test installs such a copy for its duration.
# Needs root. Run from scripts/run-tests.sh, or: PARACLOUD_BUILD=/path/to/build bash tests/integration/test_runtime_secure.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${PARACLOUD_BUILD:-$IT_ROOT/build}
rt=$build/runtime/.libs/libparacloud_rt.so
[ "$(id -u)" -eq 0 ] || it_skip "needs root (installs a set-user-ID copy of the runtime in the system library directory)"
[ -f "$rt" ] || it_skip "runtime not built: make -C $build/runtime"
id nobody >/dev/null 2>&1 || it_skip "no 'nobody' user to own the set-user-ID program"
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib
it_setup 120
name=libparacloud_rt_securetest_$$.so
trap 'rm -f "$libdir/$name"; it_cleanup' EXIT
install -m 4755 "$rt" "$libdir/$name" || it_fail "cannot install $libdir/$name"
# The set-user-ID program is a copy of bash that prints whether the runtime is mapped into it.
install -o nobody -m 4755 "$(command -v bash)" "$IT_DIR/suid-bash" || it_fail "cannot make a set-user-ID program"
install -m 755 "$(command -v bash)" "$IT_DIR/plain-bash"
mkdir -m 1777 "$IT_DIR/logs" "$IT_DIR/prof"
chmod 755 "$IT_DIR"

run() {  # run BASH TAG: with the installed copy preloaded and the runtime asked to log and profile
  env LD_PRELOAD="$name" PARACLOUD_PROFILE_NONMPI=1 PARACLOUD_LOG="$IT_DIR/logs/$2.log" \
    PARACLOUD_PROFILE_DIR="$IT_DIR/prof" PARACLOUD_DUMP_CONFIG=1 \
    "$1" -p -c 'while read -r l; do case $l in *'"$name"'*) echo mapped; break ;; esac; done </proc/$$/maps' \
    >"$IT_DIR/$2.out" 2>"$IT_DIR/$2.err"
}

# Control: the same copy in an ordinary process is loaded and does log (so the check below can fail).
run "$IT_DIR/plain-bash" plain
it_expect_eq "ordinary process: exit status" "$?" 0
if [ -e "$IT_DIR/logs/plain.log" ] || [ -n "$(ls "$IT_DIR/prof")" ]; then
  it_ok "ordinary process: the runtime is loaded and uses PARACLOUD_LOG / the profile directory"
else
  it_bad "ordinary process: the runtime left no log and no profile (was it preloaded?): $(cat "$IT_DIR/plain.out" "$IT_DIR/plain.err")"
fi
rm -rf "$IT_DIR/prof"/*

run "$IT_DIR/suid-bash" suid
it_expect_eq "set-user-ID process: exit status" "$?" 0
it_expect_eq "set-user-ID process: the runtime is mapped (the inert path is what ran)" "$(cat "$IT_DIR/suid.out")" mapped
it_check "set-user-ID process: no PARACLOUD_LOG file created" [ ! -e "$IT_DIR/logs/suid.log" ]
it_check "set-user-ID process: no profile written" [ -z "$(ls "$IT_DIR/prof")" ]
it_expect_eq "set-user-ID process: nothing on stderr (PARACLOUD_DUMP_CONFIG ignored)" "$(cat "$IT_DIR/suid.err")" ""
it_finish
