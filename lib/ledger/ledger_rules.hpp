// The ledger's business rules, written once over storage primitives that each backend supplies.
//
// LedgerRules implements every Ledger operation that changes something (validation, idempotent
// replay, funds and credit checks, lien state, refund bounds, overflow checks, every user-facing
// message) in terms of a few storage calls made inside one write transaction. The backends
// (ledger_sqlite.cpp, ledger_mariadb.cpp) hold only SQL, transactions, locking and connection code.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "ledger/ledger.hpp"

namespace paracloud {
namespace ledger_rules {

// Input checks (Errc::bad_input): account/user names, idempotency keys.
void check_name(const std::string& what, const std::string& name);
void check_key(const std::string& key);
// a + b, or Errc::bad_input when the account's totals would overflow.
Money add_checked(Money a, Money b);
// Errc::bad_input unless balance() and available() of b are representable.
void check_range(const Balance& b);

// Errors that the backends raise from their own SQL, with the one wording.
Error unknown_account(const std::string& account);  // Errc::not_found
// A journal kind string back to EntryKind; Errc::storage naming `store` ("file", "database").
EntryKind kind_from(const std::string& s, const char* store);
// An Entry from the journal columns in the order id, time, kind, account, amount, key, ref, job,
// user, note, expires, balance_after: text(i) reads column i as a string, num(i) as an integer.
template <class Text, class Num>
Entry journal_entry(const Text& text, const Num& num, const char* store) {
  Entry e;
  e.id = num(0);
  e.time = num(1);
  e.kind = kind_from(text(2), store);
  e.account = text(3);
  e.amount = num(4);
  e.key = text(5);
  e.ref = text(6);
  e.job = text(7);
  e.user = text(8);
  e.note = text(9);
  e.expires = num(10);
  e.balance_after = num(11);
  return e;
}
Error read_only(const std::string& ledger, const std::string& hint);  // write on a read-only handle
Error newer_schema(const std::string& ledger, int version, int known);
Error needs_upgrade(const std::string& ledger, int version, int known);  // read-only open of an old schema

}  // namespace ledger_rules

// Base of the storage backends: the Ledger's changing operations, rules first, storage calls second.
class LedgerRules : public Ledger {
 public:
  void add_account(const Account& a) final;
  void set_credit_limit(const std::string& account, Money limit) final;
  void add_user(const std::string& user, const std::string& account, bool make_default) final;
  OpResult deposit(const std::string& account, Money amount, const std::string& key, const std::string& user,
                   const std::string& note) final;
  OpResult place_lien(const std::string& account, Money amount, const std::string& key, std::int64_t expires,
                      const std::string& job, const std::string& user) final;
  OpResult release_lien(const std::string& lien_key, const std::string& key, const std::string& note) final;
  OpResult charge(const std::string& account, Money amount, const std::string& key, const std::string& lien_key,
                  const std::string& job, const std::string& user, const std::string& note) final;
  OpResult refund(const std::string& charge_key, Money amount, const std::string& key, const std::string& user,
                  const std::string& note) final;

 protected:
  explicit LedgerRules(const Currency& currency) : currency_(currency) {}

  // ---------------------------------------------------------------- what a backend supplies
  // Runs body as one write transaction: all of it or nothing. The backend serializes calls, refuses
  // read-only handles, and may run body again after a deadlock or a lost connection (body keeps no
  // state between runs). Every storage call below is made inside body.
  virtual void write_transaction(const char* doing, const std::function<void()>& body) = 0;

  // The journal entry written with idempotency key `key`.
  virtual std::optional<Entry> entry(const std::string& key) = 0;
  // Locks the account's money until the transaction ends and returns its balance (held counts
  // active liens); unknown accounts throw ledger_rules::unknown_account.
  virtual Balance lock_balance(const std::string& account) = 0;
  // The balance without taking the account's lock (replays).
  virtual Balance read_balance(const std::string& account) = 0;
  // The derived state of lien `key` (its liens row), if it has one.
  struct LienState {
    bool open = false;         // no release/charge entry references it
    std::int64_t expires = 0;  // as in the lien entry
  };
  virtual std::optional<LienState> lien_state(const std::string& key) = 0;
  // Whether a release or charge entry already names `key` as its ref (it arrived before the lien).
  virtual bool lien_closed_early(const std::string& key) = 0;
  // Sum of the refunds already made of charge `charge_key`.
  virtual Money refunded(const std::string& charge_key) = 0;

  // The first step of deposit/place_lien/charge: the entry already written with `key` (a replay),
  // or else the account locked as by lock_balance(). A backend may answer both at once; when it
  // does, `locked` is set even with `first` (it is then only used if it is first's account).
  struct Start {
    std::optional<Entry> first;
    std::optional<Balance> locked;
  };
  virtual Start entry_or_lock(const std::string& key, const std::string& account);
  // A lien's entry and its state in one call (charge, after the account is locked).
  virtual std::pair<std::optional<Entry>, std::optional<LienState>> lien(const std::string& key);

  // Everything one money operation writes, applied in one call: the last storage call of the
  // operation (a backend may send its COMMIT with it).
  struct Write {
    Entry entry;                  // appended to the journal; id is the backend's
    const Balance* totals = nullptr;  // new deposits/charges/refunds of entry.account
    std::string close_lien;       // lien key whose liens row becomes closed
    bool insert_lien = false;     // place_lien: the liens row of entry.key
    bool lien_open = false;       //   ... open (true) or already closed by an early release/charge
  };
  // Returns the new entry's journal id.
  virtual std::int64_t write(const Write& w) = 0;
  // Stores a new credit limit (the account is locked).
  virtual void store_credit_limit(const std::string& account, Money limit) = 0;

  // Account and membership changes: serialized by lock_directory() (a no-op where the transaction
  // itself is exclusive).
  virtual void lock_directory() {}
  virtual bool account_exists(const std::string& name) = 0;
  virtual void insert_account(const Account& a) = 0;  // a.created is set; also its zero totals
  virtual bool has_default_account(const std::string& user) = 0;
  // Adds (or keeps) the membership; as_default makes it the user's only default account.
  virtual void store_member(const std::string& user, const std::string& account, bool as_default) = 0;

  std::string money(Money m) const { return format_money(m, currency_); }
  // Throws ledger_rules::unknown_account unless the account exists.
  void require_account(const std::string& account) {
    if (!account_exists(account)) throw ledger_rules::unknown_account(account);
  }

 private:
  // The same key with the same kind/account/amount/ref/job replays the first entry; else refused.
  void check_replay(const Entry& first, EntryKind kind, const std::string& account, Money amount,
                    const std::string& ref, const std::string& job) const;
  OpResult replay(const Start& s, EntryKind kind, const std::string& account, Money amount, const std::string& ref,
                  const std::string& job);
  // What a replay must match: the operation asked for.
  struct Expected {
    EntryKind kind;
    const std::string& account;
    Money amount;
    const std::string& ref;
    const std::string& job;
  };
  // The entry already written with `key` is replayed into r (nullopt returned) when it matches op;
  // without one, op's account is locked and its balance returned.
  std::optional<Balance> replay_or_lock(const std::string& key, const Expected& op, OpResult& r);
  // release/refund: replays `key` into r (returns true) when it was used before; the expected
  // account and job are those of target, the lien or charge that the operation names (if it exists).
  bool replayed(const std::string& key, EntryKind kind, const std::optional<Entry>& target, Money amount,
                const std::string& ref, OpResult& r);
  // Fills in the entry's time and balance_after, writes it, and returns the operation's result.
  OpResult written(Write& w, const Balance& after);
  static Write entry_of(EntryKind kind, const std::string& account, Money amount, const std::string& key,
                        const std::string& ref, const std::string& job, const std::string& user,
                        const std::string& note, std::int64_t expires = 0);

  Currency currency_;
};

}  // namespace paracloud
