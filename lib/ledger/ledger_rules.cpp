// The ledger's business rules and their messages, once for every storage backend (see ledger_rules.hpp).
#include "ledger/ledger_rules.hpp"

#include <cctype>

namespace paracloud {
namespace ledger_rules {

void check_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) ok = false;
  if (!ok)
    throw Error(Errc::bad_input, "invalid " + what + " name '" + name + "'",
                "use 1-64 letters, digits, '_', '-' or '.'");
}

void check_key(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 256;
  for (char c : key)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) ok = false;
  if (!ok)
    throw Error(Errc::bad_input, "invalid idempotency key '" + key + "'",
                "use 1-256 printable characters without spaces");
}

Money add_checked(Money a, Money b) {
  Money r;
  if (__builtin_add_overflow(a, b, &r))
    throw Error(Errc::bad_input, "amount too large: the account's totals would overflow",
                "split the operation or use a smaller amount");
  return r;
}

void check_range(const Balance& b) {
  Money x, y, z;
  if (__builtin_sub_overflow(b.deposits, b.charges, &x) || __builtin_add_overflow(x, b.refunds, &y) ||
      __builtin_sub_overflow(y, b.held, &z) || __builtin_add_overflow(z, b.credit_limit, &x))
    throw Error(Errc::bad_input, "amount too large: the account's balance would overflow",
                "split the operation or use a smaller amount");
}

Error unknown_account(const std::string& account) {
  return Error(Errc::not_found, "unknown account '" + account + "'",
               "create it with: paracloud bank account add " + (account.empty() ? "NAME" : account));
}

EntryKind kind_from(const std::string& s, const char* store) {
  for (EntryKind k : {EntryKind::deposit, EntryKind::lien, EntryKind::release, EntryKind::charge,
                      EntryKind::refund})
    if (s == to_string(k)) return k;
  throw Error(Errc::storage, "ledger journal holds an unknown entry kind '" + s + "'",
              std::string("the ") + store + " was changed outside paracloud; restore it from a backup");
}

Error read_only(const std::string& ledger, const std::string& hint) {
  return Error(Errc::storage, "ledger " + ledger + " was opened read-only; this operation changes it", hint);
}

Error newer_schema(const std::string& ledger, int version, int known) {
  return Error(Errc::storage,
               "ledger " + ledger + " was created by a newer paracloud (schema version " + std::to_string(version) +
                   ", this build knows up to " + std::to_string(known) + ")",
               "upgrade paracloud on this host, or point LedgerPath at a ledger of this version");
}

Error needs_upgrade(const std::string& ledger, int version, int known) {
  return Error(Errc::storage,
               "ledger " + ledger + " has schema version " + std::to_string(version) + " and needs an upgrade to " +
                   std::to_string(known),
               "open it once for writing as SlurmUser/root (e.g. paracloud bank account list) to upgrade it");
}

}  // namespace ledger_rules

using namespace ledger_rules;

namespace {

Error negative_credit_limit(const std::string& account) {
  return Error(Errc::bad_input, "credit limit of account '" + account + "' must not be negative",
               "give 0 (no credit) or a positive amount");
}

// A lien is active while open and not expired at `now`.
bool active(std::int64_t expires, std::int64_t now) { return expires == 0 || expires > now; }

}  // namespace

// ---------------------------------------------------------------- default composite storage calls

LedgerRules::Start LedgerRules::entry_or_lock(const std::string& key, const std::string& account) {
  Start s;
  s.first = entry(key);
  if (!s.first) s.locked = lock_balance(account);
  return s;
}

std::pair<std::optional<Entry>, std::optional<LedgerRules::LienState>> LedgerRules::lien(const std::string& key) {
  std::optional<Entry> e = entry(key);
  if (!e || e->kind != EntryKind::lien) return {e, std::nullopt};
  return {e, lien_state(key)};
}

// ---------------------------------------------------------------- replays and writes

void LedgerRules::check_replay(const Entry& first, EntryKind kind, const std::string& account, Money amount,
                               const std::string& ref, const std::string& job) const {
  if (first.kind != kind || first.account != account || first.amount != amount || first.ref != ref ||
      first.job != job)
    throw Error(Errc::refused,
                "idempotency key '" + first.key + "' was already used for a different operation: " +
                    to_string(first.kind) + " of " + money(first.amount) + " on account '" + first.account +
                    "' (journal entry " + std::to_string(first.id) + ")",
                "use a new key for a new operation; repeat an operation only with exactly the same data");
}

OpResult LedgerRules::replay(const Start& s, EntryKind kind, const std::string& account, Money amount,
                             const std::string& ref, const std::string& job) {
  check_replay(*s.first, kind, account, amount, ref, job);
  if (s.locked && s.locked->account == s.first->account) return OpResult{*s.first, true, *s.locked};
  return OpResult{*s.first, true, read_balance(s.first->account)};
}

std::optional<Balance> LedgerRules::replay_or_lock(const std::string& key, const Expected& op, OpResult& r) {
  Start s = entry_or_lock(key, op.account);
  if (!s.first) return s.locked;
  r = replay(s, op.kind, op.account, op.amount, op.ref, op.job);
  return std::nullopt;
}

bool LedgerRules::replayed(const std::string& key, EntryKind kind, const std::optional<Entry>& target, Money amount,
                           const std::string& ref, OpResult& r) {
  Start s;
  s.first = entry(key);
  if (!s.first) return false;
  r = replay(s, kind, target ? target->account : s.first->account, amount, ref, target ? target->job : s.first->job);
  return true;
}

OpResult LedgerRules::written(Write& w, const Balance& after) {
  w.entry.time = ledger_now();
  w.entry.balance_after = after.balance();
  w.entry.id = write(w);
  return OpResult{w.entry, false, after};
}

LedgerRules::Write LedgerRules::entry_of(EntryKind kind, const std::string& account, Money amount,
                                         const std::string& key, const std::string& ref, const std::string& job,
                                         const std::string& user, const std::string& note, std::int64_t expires) {
  Write w;
  w.entry.kind = kind;
  w.entry.account = account;
  w.entry.amount = amount;
  w.entry.key = key;
  w.entry.ref = ref;
  w.entry.job = job;
  w.entry.user = user;
  w.entry.note = note;
  w.entry.expires = expires;
  return w;
}

// ---------------------------------------------------------------- accounts and members

void LedgerRules::add_account(const Account& a) {
  check_name("account", a.name);
  if (!a.parent.empty()) check_name("parent account", a.parent);
  if (a.credit_limit < 0) throw negative_credit_limit(a.name);
  write_transaction("adding an account", [&] {
    lock_directory();
    if (account_exists(a.name))
      throw Error(Errc::refused, "account '" + a.name + "' already exists",
                  "see it with: paracloud bank account show " + a.name);
    if (!a.parent.empty() && a.parent != a.name) require_account(a.parent);
    Account stored = a;
    if (stored.created == 0) stored.created = ledger_now();
    insert_account(stored);
  });
}

void LedgerRules::set_credit_limit(const std::string& account, Money limit) {
  if (limit < 0) throw negative_credit_limit(account);
  write_transaction("setting a credit limit", [&] {
    Balance b = lock_balance(account);
    b.credit_limit = limit;
    check_range(b);
    store_credit_limit(account, limit);
  });
}

void LedgerRules::add_user(const std::string& user, const std::string& account, bool make_default) {
  check_name("user", user);
  write_transaction("adding a member", [&] {
    lock_directory();
    require_account(account);
    // A user's first account becomes the default one.
    store_member(user, account, make_default || !has_default_account(user));
  });
}

// ---------------------------------------------------------------- operations that change money

OpResult LedgerRules::deposit(const std::string& account, Money amount, const std::string& key,
                              const std::string& user, const std::string& note) {
  check_key(key);
  if (amount == 0)
    throw Error(Errc::bad_input, "deposit amount must not be zero",
                "give a positive amount, or a negative one to correct an earlier deposit");
  OpResult r;
  write_transaction("depositing", [&] {
    std::optional<Balance> locked = replay_or_lock(key, {EntryKind::deposit, account, amount, "", ""}, r);
    if (!locked) return;
    Balance b = *locked;
    if (amount < 0 && b.available() + amount < 0)
      throw Error(Errc::refused,
                  "withdrawal of " + money(-amount) + " from account '" + account + "' refused: only " +
                      money(b.available()) + " is available",
                  "withdraw at most the available amount (paracloud bank balance " + account + ")");
    b.deposits = add_checked(b.deposits, amount);
    check_range(b);
    Write w = entry_of(EntryKind::deposit, account, amount, key, "", "", user, note);
    w.totals = &b;
    r = written(w, b);
  });
  return r;
}

OpResult LedgerRules::place_lien(const std::string& account, Money amount, const std::string& key,
                                 std::int64_t expires, const std::string& job, const std::string& user) {
  check_key(key);
  if (amount <= 0)
    throw Error(Errc::bad_input, "lien amount must be positive (got " + money(amount) + ")",
                "hold the job's expected cost");
  if (expires < 0) throw Error(Errc::bad_input, "lien expiry must be 0 (never) or unix seconds");
  OpResult r;
  write_transaction("placing a lien", [&] {
    std::optional<Balance> locked = replay_or_lock(key, {EntryKind::lien, account, amount, key, job}, r);
    if (!locked) return;
    Balance b = *locked;
    if (b.available() < amount)
      throw Error(Errc::refused,
                  "account '" + account + "' has " + money(b.available()) + " available, less than the " +
                      money(amount) + " to hold",
                  "deposit funds (paracloud bank deposit " + account + " AMOUNT), or ask for less time or resources");
    const bool closed = lien_closed_early(key);  // a charge/release that names this key arrived first
    if (!closed && active(expires, ledger_now())) b.held = add_checked(b.held, amount);
    check_range(b);
    Write w = entry_of(EntryKind::lien, account, amount, key, key, job, user, "", expires);
    w.insert_lien = true;
    w.lien_open = !closed;
    r = written(w, b);
  });
  return r;
}

OpResult LedgerRules::release_lien(const std::string& lien_key, const std::string& key, const std::string& note) {
  check_key(key);
  OpResult r;
  write_transaction("releasing a lien", [&] {
    std::optional<Entry> lien = entry(lien_key);
    if (replayed(key, EntryKind::release, lien, lien ? lien->amount : -1, lien_key, r)) return;
    if (!lien || lien->kind != EntryKind::lien)
      throw Error(Errc::not_found, "no lien with key '" + lien_key + "'",
                  "list active liens with: paracloud bank statement ACCOUNT");
    Balance b = lock_balance(lien->account);  // the lien's state is read under its account's lock
    std::optional<LienState> st = lien_state(lien_key);
    const bool open = st && st->open;
    if (!open || !active(lien->expires, ledger_now()))
      throw Error(Errc::not_found,
                  "lien '" + lien_key + "' is no longer active (already " +
                      (open ? "expired" : "released or charged") + ")",
                  "nothing to release");
    b.held -= lien->amount;
    Write w = entry_of(EntryKind::release, lien->account, lien->amount, key, lien_key, lien->job, lien->user, note);
    w.close_lien = lien_key;
    r = written(w, b);
  });
  return r;
}

OpResult LedgerRules::charge(const std::string& account, Money amount, const std::string& key,
                             const std::string& lien_key, const std::string& job, const std::string& user,
                             const std::string& note) {
  check_key(key);
  if (amount < 0)
    throw Error(Errc::bad_input, "charge amount must not be negative (got " + money(amount) + ")",
                "to give money back use: paracloud bank refund CHARGE_KEY AMOUNT");
  OpResult r;
  write_transaction("charging", [&] {
    std::optional<Balance> locked = replay_or_lock(key, {EntryKind::charge, account, amount, lien_key, job}, r);
    if (!locked) return;
    Balance b = *locked;
    Write w = entry_of(EntryKind::charge, account, amount, key, lien_key, job, user, note);
    if (!lien_key.empty()) {
      // The lien may be open, already released or expired, or unknown (never placed): the charge
      // happens in every case and records the lien key; an open lien is closed with it.
      auto [lien_entry, st] = lien(lien_key);
      if (lien_entry) {
        if (lien_entry->kind != EntryKind::lien)
          throw Error(Errc::bad_input,
                      "key '" + lien_key + "' names a " + to_string(lien_entry->kind) + ", not a lien",
                      "pass the key of the job's lien, or no lien key");
        if (lien_entry->account != account)
          throw Error(Errc::bad_input,
                      "lien '" + lien_key + "' belongs to account '" + lien_entry->account + "', not '" + account +
                          "'",
                      "charge the account that holds the lien");
        if (st && st->open) {
          if (active(st->expires, ledger_now())) b.held -= lien_entry->amount;
          w.close_lien = lien_key;
        }
      }
    }
    b.charges = add_checked(b.charges, amount);
    check_range(b);
    w.totals = &b;
    r = written(w, b);
  });
  return r;
}

OpResult LedgerRules::refund(const std::string& charge_key, Money amount, const std::string& key,
                             const std::string& user, const std::string& note) {
  check_key(key);
  if (amount <= 0)
    throw Error(Errc::bad_input, "refund amount must be positive (got " + money(amount) + ")",
                "give the amount to return to the account");
  OpResult r;
  write_transaction("refunding", [&] {
    std::optional<Entry> ch = entry(charge_key);
    if (replayed(key, EntryKind::refund, ch, amount, charge_key, r)) return;
    if (!ch)
      throw Error(Errc::not_found, "no charge with key '" + charge_key + "'",
                  "find the charge's key with: paracloud bank statement ACCOUNT");
    if (ch->kind != EntryKind::charge)
      throw Error(Errc::bad_input, "key '" + charge_key + "' names a " + to_string(ch->kind) + ", not a charge",
                  "refunds apply to charges only; to add funds use: paracloud bank deposit");
    Balance b = lock_balance(ch->account);  // refunds of one charge serialize on its account
    const Money done = refunded(charge_key);
    if (amount > ch->amount - done)
      throw Error(Errc::refused,
                  "refund of " + money(amount) + " exceeds what remains refundable of charge '" + charge_key +
                      "': " + money(ch->amount - done) + " (charged " + money(ch->amount) + ", refunded " +
                      money(done) + ")",
                  "refund at most the remaining amount");
    b.refunds = add_checked(b.refunds, amount);
    check_range(b);
    Write w = entry_of(EntryKind::refund, ch->account, amount, key, charge_key, ch->job, user, note);
    w.totals = &b;
    r = written(w, b);
  });
  return r;
}

}  // namespace paracloud
