#!/bin/bash
# Issue 16 item 5: the profile's temporary file had a predictable name (<profile>.tmp.<pid>) and was
# opened with fopen("w"), following symlinks: in a work directory others can write, a symlink
# planted under that name made the job overwrite the link's target. Now the temporary file has an
# unpredictable name, is created O_EXCL|O_NOFOLLOW, and the planted link is left alone.
. "$PC_SRCDIR/tests/lib.sh"
[ -f "$PC_RT" ] || { echo "FAIL: $PC_RT not built"; exit 1; }
mkdir -p "$work/prof"
printf 'precious\n' > "$work/victim"
head -c 10000 /dev/zero > "$work/in.dat"
# exec keeps the shell's pid: the link is planted under exactly the name the old code used.
PARACLOUD_PROFILE_NONMPI=1 PARACLOUD_PROFILE_DIR="$work/prof" PC_RT="$PC_RT" work="$work" bash -c '
  ln -s "$work/victim" "$work/prof/dd-$$.json.tmp.$$"
  exec env LD_PRELOAD="$PC_RT" dd if="$work/in.dat" of="$work/out.dat" bs=4096 status=none' \
  || fail "dd failed with the preload"
[ "$(cat "$work/victim")" = precious ] && ok "the planted symlink's target is untouched" \
  || fail "the planted symlink's target was overwritten: $(head -c 80 "$work/victim")"
profile=$(ls "$work"/prof/dd-*.json 2>/dev/null)
if [ -f "$profile" ] && [ ! -L "$profile" ]; then
  check_profile "$profile" --np 1 --field mpi=false --layer posix.bytes_read=10000
else
  fail "no dd-<pid>.json profile in $work/prof: $(ls "$work/prof")"
fi
left=$(ls "$work/prof" | grep -v '^dd-[0-9]*\.json$' | grep -v '\.tmp\.[0-9]*$')
[ -z "$left" ] && ok "no temporary file left behind" || fail "left behind: $left"
# PARACLOUD_PROFILE naming a character device: written into, never replaced (a root job with
# PARACLOUD_PROFILE=/dev/null used to rename its temporary file over /dev/null). A private device
# node stands in for /dev/null (root only: mknod).
if [ "$(id -u)" = 0 ]; then
  mknod -m 666 "$work/null" c 1 3
  PARACLOUD_PROFILE="$work/null" PRELOAD="$PC_RT" run_mpi 1 "$work/devnull.out" "$PC_TESTBIN/calls_c" \
    || fail "run with PARACLOUD_PROFILE=<a character device> exited $?"
  [ -c "$work/null" ] && ok "PARACLOUD_PROFILE=<character device>: still a character device" \
    || fail "PARACLOUD_PROFILE=<character device> was replaced: $(ls -l "$work/null")"
  [ -s "$work/devnull.out.err" ] && fail "stderr: $(cat "$work/devnull.out.err")"
else
  echo "SKIP (part): the character-device check needs root (mknod)"
fi
finish
