#!/usr/bin/env bash
# readv/writev/preadv/pwritev, mmap of a file and stdio on regular files (vecio_c.c): same output
# with and without the preload; exact counts and bytes in the posix layer.
. "$(dirname "$0")/lib.sh"
need_mpi
[ -x "$PC_TESTBIN/vecio_c" ] || { echo "FAIL: $PC_TESTBIN/vecio_c not built"; exit 1; }
for np in 1 2; do
  n=vecio_np$np
  if compare_runs "$np" "$n" "$PC_TESTBIN/vecio_c"; then
    if python3 "$PC_SRCDIR/tests/check_profile.py" "$profile" --np "$np" \
        --expect "writev=10*n" --bytes "writev=3000*n" --expect "pwritev=2*n" --bytes "pwritev=600*n" \
        --expect "readv=10*n" --bytes "readv=3000*n" --expect "preadv=2*n" --bytes "preadv=600*n" \
        --expect "mmap=n" --bytes "mmap=3000*n" --expect "fopen=2*n" --expect "fclose=2*n" \
        --expect "fwrite=4*n" --bytes "fwrite=1024*n" --expect "fread=5*n" --bytes "fread=1024*n" \
        --errors "fread=0" --layer "posix.bytes_written=(3600+1024)*n" >"$work/$n.check" 2>&1; then
      ok "$n: vector IO, mmap and stdio counted exactly"
    else
      fail "$n: $(cat "$work/$n.check")"
    fi
  fi
done
finish
