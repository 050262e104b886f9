#!/bin/bash
# PARACLOUD_PROFILE_NONMPI=1: a program that is not an MPI program gets a POSIX-only profile that
# counts the bytes it read and wrote on the files it opened (not its stdout).
. "$PC_SRCDIR/tests/lib.sh"
[ -f "$PC_RT" ] || { echo "FAIL: $PC_RT not built"; exit 1; }
head -c 100000 /dev/zero > "$work/in.dat"
mkdir -p "$work/prof"
PARACLOUD_PROFILE_NONMPI=1 PARACLOUD_PROFILE_DIR="$work/prof" LD_PRELOAD="$PC_RT" \
  dd if="$work/in.dat" of="$work/out.dat" bs=4096 status=none || fail "dd failed with the preload"
cmp -s "$work/in.dat" "$work/out.dat" && ok "dd copied the file" || fail "dd copy differs"
profile=$(ls "$work"/prof/dd-*.json 2>/dev/null)
if [ -f "$profile" ]; then
  check_profile "$profile" --np 1 --field mpi=false --layer posix.bytes_read=100000 \
    --layer posix.bytes_written=100000 --layer mpi.calls=0 --layer-min posix.calls=50
else
  fail "no dd-<pid>.json in $work/prof: $(ls "$work/prof")"
fi
# Without the switch the same program writes nothing.
rm -f "$work"/prof/*
PARACLOUD_PROFILE_DIR="$work/prof" LD_PRELOAD="$PC_RT" dd if="$work/in.dat" of="$work/out.dat" bs=4096 status=none
[ -z "$(ls -A "$work/prof")" ] && ok "no profile without PARACLOUD_PROFILE_NONMPI" || fail "profile written without the switch"
finish
