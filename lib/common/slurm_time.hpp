// Slurm's time specifications (sbatch --begin/--deadline, sacct -S/-E), parsed without libslurm.
//
// The forms are those of sbatch(1) --begin, with the meaning Slurm 22.05 gives them
// (src/common/parse_time.c; tests/unit/test_slurm_time.cpp compares this parser with libslurm's
// own slurm_parse_time for every form when libslurm is installed):
//   now[{+|-}COUNT[seconds|minutes|hours|days|weeks]]   the unit defaults to SECONDS: now+15 is
//                                                       15 s from now, now+15minutes a quarter hour
//   HH:MM[:SS] [AM|PM]                                  the next such time (today, else tomorrow)
//   MMDD[YY], MM/DD[/YY], MM.DD[.YY]                    00:00 that day (this year if still to come,
//   YYYY-MM-DD[THH:MM[:SS]]                             else next year; with past=true, this year
//   MM/DD[/YY]-HH:MM[:SS]                               unless the month is still to come)
//   today, tomorrow, midnight, noon, fika (15:00), teatime (16:00), combinable with a date or a time
//   uts<UNIX SECONDS>
// Local time, as Slurm's clients use. Pure: the caller passes `now`; no I/O.
#pragma once
#include <cstdint>
#include <string_view>

namespace paracloud {

// Unix seconds of `text` relative to `now` (unix seconds). past=true resolves a date without a
// year towards the past (sacct's -S/-E), else towards the future (sbatch's --begin/--deadline).
// Error(bad_input) naming the text and the accepted forms when it is not a time Slurm accepts.
std::int64_t parse_slurm_time(std::string_view text, std::int64_t now, bool past = false);

}  // namespace paracloud
