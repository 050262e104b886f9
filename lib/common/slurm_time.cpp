// Slurm time specifications (slurm_time.hpp): a scanner over the text that fills in a date and a
// time of day, then resolves what is missing the way Slurm's clients do.
#include "common/slurm_time.hpp"

#include <strings.h>

#include <cctype>
#include <climits>
#include <ctime>
#include <string>

#include "common/error.hpp"

namespace paracloud {
namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(Errc::bad_input, "invalid time '" + std::string(text) + "'" + (why.empty() ? "" : ": " + why),
              "use a Slurm time: now+15minutes (a bare count is seconds), now-2days, 16:30, tomorrow, "
              "noon, 12/24, 2026-12-24T08:00, or uts<unix seconds>");
}

struct Scan {
  std::string_view s;
  std::size_t pos = 0;
  char at(std::size_t i) const { return i < s.size() ? s[i] : '\0'; }
  bool digit(std::size_t i) const { return std::isdigit(static_cast<unsigned char>(at(i))) != 0; }
  bool word(std::size_t i, std::string_view w) const {  // case-insensitive, as Slurm compares
    return s.size() - i >= w.size() && strncasecmp(s.data() + i, w.data(), w.size()) == 0;
  }
  // One or two digits at pos (two when the second is a digit).
  int one_or_two() {
    int v = s[pos++] - '0';
    if (digit(pos)) v = v * 10 + (s[pos++] - '0');
    return v;
  }
  int exactly_two(std::string_view text, const char* what) {
    if (!digit(pos) || !digit(pos + 1)) bad(text, std::string(what) + " needs two digits");
    int v = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
    pos += 2;
    return v;
  }
};

struct Fields {
  int hour = -1, minute = -1, second = 0;
  int month = -1, mday = -1, year = -1;  // month 0..11, year as struct tm (years since 1900)
};

void set_day(Fields& f, const struct tm& t) {
  f.month = t.tm_mon;
  f.mday = t.tm_mday;
  f.year = t.tm_year;
}

struct tm local(std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm out = {};
  localtime_r(&tt, &out);
  return out;
}

// Words for a time of day: midnight, noon, fika (15:00), teatime (16:00).
struct TimeWord {
  std::string_view name;
  int hour;
};
const TimeWord* time_word(const Scan& sc) {
  static const TimeWord words[] = {{"midnight", 0}, {"noon", 12}, {"fika", 15}, {"teatime", 16}};
  for (const auto& w : words)
    if (sc.word(sc.pos, w.name)) return &w;
  return nullptr;
}

// "now" and its offset: {+|-}COUNT[unit], blanks allowed inside, the unit ending it.
std::int64_t now_offset(Scan& sc, std::string_view text) {
  while (sc.pos < sc.s.size() && std::isblank(static_cast<unsigned char>(sc.s[sc.pos]))) ++sc.pos;
  if (sc.pos == sc.s.size()) return 0;
  char sign = sc.s[sc.pos];
  if (sign != '+' && sign != '-') bad(text, "after 'now' comes +COUNT or -COUNT");
  ++sc.pos;
  static const struct {
    std::string_view name;
    std::int64_t mult;
  } units[] = {{"seconds", 1},     {"second", 1},     {"minutes", 60},      {"minute", 60},
               {"hours", 3600},    {"hour", 3600},    {"days", 86400},      {"day", 86400},
               {"weeks", 604800},  {"week", 604800}};
  std::int64_t count = 0;
  int digits = 0;
  while (sc.pos < sc.s.size()) {
    char c = sc.s[sc.pos];
    if (std::isblank(static_cast<unsigned char>(c))) {
      ++sc.pos;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (++digits > 12) bad(text, "the count is too large");
      count = count * 10 + (c - '0');
      ++sc.pos;
      continue;
    }
    bool unit = false;
    for (const auto& u : units)
      if (sc.word(sc.pos, u.name)) {
        count *= u.mult;
        sc.pos += u.name.size();
        unit = true;
        break;
      }
    if (!unit)
      bad(text, "unknown unit at '" + std::string(sc.s.substr(sc.pos)) +
                    "' (seconds, minutes, hours, days or weeks)");
    break;
  }
  if (digits == 0) bad(text, "no count after now" + std::string(1, sign));
  while (sc.pos < sc.s.size() && std::isblank(static_cast<unsigned char>(sc.s[sc.pos]))) ++sc.pos;
  if (sc.pos != sc.s.size()) bad(text, "nothing may follow now" + std::string(1, sign) + "COUNT[unit]");
  return sign == '-' ? -count : count;
}

void time_of_day(Scan& sc, Fields& f, std::string_view text) {
  int hour = sc.one_or_two();
  if (hour > 23) bad(text, "hour " + std::to_string(hour) + " is over 23");
  if (sc.at(sc.pos) != ':') bad(text, "a time of day is HH:MM[:SS]");
  ++sc.pos;
  int minute = sc.exactly_two(text, "the minute");
  if (minute > 59) bad(text, "minute " + std::to_string(minute) + " is over 59");
  int second = 0;
  if (sc.at(sc.pos) == ':') {
    ++sc.pos;
    second = sc.exactly_two(text, "the second");
    if (second > 59) bad(text, "second " + std::to_string(second) + " is over 59");
  }
  std::size_t p = sc.pos;
  while (std::isspace(static_cast<unsigned char>(sc.at(p)))) ++p;
  if (sc.word(p, "pm")) {
    if (hour > 12) bad(text, "PM after hour " + std::to_string(hour));
    if (hour < 12) hour += 12;
    sc.pos = p + 2;
  } else if (sc.word(p, "am")) {
    if (hour > 12) bad(text, "AM after hour " + std::to_string(hour));
    if (hour == 12) hour = 0;
    sc.pos = p + 2;
  }
  f.hour = hour, f.minute = minute, f.second = second;
}

void date(Scan& sc, Fields& f, std::string_view text) {
  if (sc.at(sc.pos + 4) == '-' && sc.at(sc.pos + 7) == '-') {  // YYYY-MM-DD
    int year = 0;
    for (int i = 0; i < 4; ++i) {
      if (!sc.digit(sc.pos)) bad(text, "a date is YYYY-MM-DD");
      year = year * 10 + (sc.s[sc.pos++] - '0');
    }
    ++sc.pos;  // '-'
    if (!sc.digit(sc.pos)) bad(text, "a date is YYYY-MM-DD");
    int month = sc.one_or_two();
    if (month < 1 || month > 12) bad(text, "month " + std::to_string(month) + " is not 1..12");
    ++sc.pos;  // '-'
    if (!sc.digit(sc.pos)) bad(text, "a date is YYYY-MM-DD");
    int day = sc.one_or_two();
    if (day < 1 || day > 31) bad(text, "day " + std::to_string(day) + " is not 1..31");
    f.month = month - 1, f.mday = day, f.year = year - 1900;
    return;
  }
  int month = sc.one_or_two();  // MMDD[YY], MM/DD[/YY], MM.DD[.YY]
  if (month < 1 || month > 12) bad(text, "month " + std::to_string(month) + " is not 1..12");
  if (sc.at(sc.pos) == '/' || sc.at(sc.pos) == '.') ++sc.pos;
  if (!sc.digit(sc.pos)) bad(text, "a date is MM/DD[/YY], MMDD[YY] or YYYY-MM-DD");
  int day = sc.one_or_two();
  if (day < 1 || day > 31) bad(text, "day " + std::to_string(day) + " is not 1..31");
  if (sc.at(sc.pos) == '/' || sc.at(sc.pos) == '.') ++sc.pos;
  f.month = month - 1, f.mday = day;
  if (sc.digit(sc.pos)) {
    int yy = sc.exactly_two(text, "the year");
    if (yy != 0) f.year = yy + 100;  // 20YY; "00" means no year, as in Slurm
  }
}

}  // namespace

std::int64_t parse_slurm_time(std::string_view text, std::int64_t now, bool past) {
  Scan sc{text};
  if (sc.word(0, "uts")) {
    std::string_view digits = text.substr(3);
    if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      bad(text, "uts is followed by unix seconds");
    std::int64_t v = std::stoll(std::string(digits));
    if (v < 1000000) bad(text, "uts is followed by unix seconds");
    return v;
  }
  const struct tm now_tm = local(now);
  Fields f;
  while (sc.pos < text.size()) {
    char c = text[sc.pos];
    if (std::isblank(static_cast<unsigned char>(c)) || c == '-' || c == 'T') {
      ++sc.pos;
      continue;
    }
    if (sc.word(sc.pos, "today")) {
      set_day(f, now_tm);
      sc.pos += 5;
    } else if (sc.word(sc.pos, "tomorrow")) {
      set_day(f, local(now + 86400));
      sc.pos += 8;
    } else if (const TimeWord* w = time_word(sc)) {
      f.hour = w->hour, f.minute = 0, f.second = 0;
      sc.pos += w->name.size();
    } else if (sc.word(sc.pos, "now")) {
      sc.pos += 3;
      std::int64_t off = now_offset(sc, text);
      struct tm t = local(now + off);
      set_day(f, t);
      f.hour = t.tm_hour, f.minute = t.tm_min, f.second = t.tm_sec;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      if (sc.at(sc.pos + 1) == ':' || sc.at(sc.pos + 2) == ':')
        time_of_day(sc, f, text);
      else
        date(sc, f, text);
    } else {
      bad(text, "unexpected '" + std::string(text.substr(sc.pos)) + "'");
    }
  }
  if (f.hour == -1 && f.month == -1) bad(text, "no date or time in it");
  if (f.hour == -1) {  // a date alone: its first second
    f.hour = 0, f.minute = 0, f.second = 0;
  } else if (f.month == -1) {  // a time alone: the next one (or, looking back, today's)
    bool today = past || f.hour > now_tm.tm_hour || (f.hour == now_tm.tm_hour && f.minute > now_tm.tm_min);
    set_day(f, today ? now_tm : local(now + 86400));
  }
  if (f.year == -1) {
    if (past) {
      f.year = f.month > now_tm.tm_mon ? now_tm.tm_year - 1 : now_tm.tm_year;
    } else {
      auto key = [](int mon, int mday, int hour, int minute) {
        return ((static_cast<long>(mon) * 32 + mday) * 24 + hour) * 60 + minute;
      };
      bool still_to_come = key(f.month, f.mday, f.hour, f.minute) >
                           key(now_tm.tm_mon, now_tm.tm_mday, now_tm.tm_hour, now_tm.tm_min);
      f.year = still_to_come ? now_tm.tm_year : now_tm.tm_year + 1;
    }
  }
  struct tm t = {};
  t.tm_sec = f.second;
  t.tm_min = f.minute;
  t.tm_hour = f.hour;
  t.tm_mday = f.mday;
  t.tm_mon = f.month;
  t.tm_year = f.year;
  t.tm_isdst = -1;
  time_t r = mktime(&t);
  if (r == static_cast<time_t>(-1)) bad(text, "not a representable local time");
  return static_cast<std::int64_t>(r);
}

}  // namespace paracloud
