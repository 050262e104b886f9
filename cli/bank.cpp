// paracloud bank: accounts, members, deposits, balances, statements, refunds and operator holds/charges.
//
// Changing money needs write access to the ledger file and its directory (owned by SlurmUser,
// mode 0700/0750): in practice SlurmUser or root. Queries open the ledger read-only.
#include <unistd.h>

#include <ctime>
#include <memory>
#include <random>

#include "cli.hpp"
#include "common/error.hpp"

namespace paracloud::cli {

namespace {

using nlohmann::json;

// Everything the subcommands' options write into; lives as long as the CLI::App.
struct BankArgs {
  std::string account, parent, description, credit_limit, user, amount, key, note, lien, job;
  std::string start, end, expires, duration;
  bool make_default = false;
  std::size_t limit = 0;
};

const Currency& currency(Context& ctx) { return ctx.config().currency; }

// A unique key for operations the operator did not name: kind-account-time-pid-random.
std::string generated_key(const std::string& kind, const std::string& account) {
  std::random_device rd;
  char rnd[9];
  std::snprintf(rnd, sizeof rnd, "%08x", static_cast<unsigned>(rd()));
  return kind + "-" + account + "-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(getpid()) + "-" + rnd;
}

json balance_json(const Balance& b, const Currency& cur) {
  return json{{"account", b.account},
              {"currency", cur.code},
              {"deposits", format_amount(b.deposits, cur)},
              {"charges", format_amount(b.charges, cur)},
              {"refunds", format_amount(b.refunds, cur)},
              {"balance", format_amount(b.balance(), cur)},
              {"held", format_amount(b.held, cur)},
              {"credit_limit", format_amount(b.credit_limit, cur)},
              {"available", format_amount(b.available(), cur)}};
}

json entry_json(const Entry& e, const Currency& cur) {
  return json{{"id", e.id},
              {"time", format_time(e.time)},
              {"unix_time", e.time},
              {"kind", to_string(e.kind)},
              {"account", e.account},
              {"amount", format_amount(e.amount, cur)},
              {"balance_after", format_amount(e.balance_after, cur)},
              {"key", e.key},
              {"ref", e.ref},
              {"job", e.job},
              {"user", e.user},
              {"note", e.note},
              {"expires", e.expires ? format_time(e.expires) : std::string()}};
}

// Shows the result of an operation that changes money.
void print_result(Context& ctx, const OpResult& r) {
  const Currency& cur = currency(ctx);
  const Balance& b = r.after;
  if (ctx.json) {
    json j = entry_json(r.entry, cur);
    j["replayed"] = r.replayed;
    j["currency"] = cur.code;
    j["after"] = balance_json(b, cur);
    print_json(j);
    return;
  }
  if (ctx.parsable) {
    print_table(ctx, {"Kind", "Account", "Amount", "Key", "Ref", "Replayed", "Balance", "Held", "Available"},
                {{to_string(r.entry.kind), r.entry.account, format_amount(r.entry.amount, cur), r.entry.key,
                  r.entry.ref, r.replayed ? "yes" : "no", format_amount(b.balance(), cur),
                  format_amount(b.held, cur), format_amount(b.available(), cur)}});
    return;
  }
  std::printf("%s %s on account '%s' (key %s)%s\n", to_string(r.entry.kind),
              format_money(r.entry.amount, cur).c_str(), r.entry.account.c_str(), r.entry.key.c_str(),
              r.replayed ? ": already done earlier with this key, nothing changed" : "");
  std::printf("balance %s, held %s, available %s\n", format_money(b.balance(), cur).c_str(),
              format_money(b.held, cur).c_str(), format_money(b.available(), cur).c_str());
}

void print_balances(Context& ctx, const std::vector<Balance>& list) {
  const Currency& cur = currency(ctx);
  if (ctx.json) {
    json j = json::array();
    for (const auto& b : list) j.push_back(balance_json(b, cur));
    print_json(list.size() == 1 ? j[0] : j);
    return;
  }
  auto fmt = [&](Money m) { return ctx.parsable ? format_amount(m, cur) : format_money(m, cur); };
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : list)
    rows.push_back({b.account, fmt(b.balance()), fmt(b.held), fmt(b.credit_limit), fmt(b.available())});
  print_table(ctx, {"Account", "Balance", "Held", "CreditLimit", "Available"}, rows);
}

// ACCOUNT as a positional or -A; else the invoking user's default account.
std::string account_or_default(Context& ctx, Ledger& l, const std::string& account) {
  if (!account.empty()) return account;
  std::string user = ctx.invoking_user();
  if (auto def = l.default_account(user)) return *def;
  throw Error(Errc::usage, "no account given and user '" + user + "' has no default account",
              "name one: paracloud bank balance ACCOUNT");
}

void add_account_commands(CLI::App& bank, Context& ctx, std::shared_ptr<BankArgs> a) {
  CLI::App* account = bank.add_subcommand("account", "Create, list, show and change accounts");
  account->require_subcommand(1);

  CLI::App* add = account->add_subcommand("add", "Create an account");
  add->add_option("name", a->account, "account name (letters, digits, _ - .)")->required();
  add->add_option("--parent", a->parent, "parent account (groups accounts in reports)");
  add->add_option("--credit-limit", a->credit_limit, "how far below zero the account may go (default 0)");
  add->add_option("--description", a->description, "free text");
  add->callback([&ctx, a] {
    Account acc;
    acc.name = a->account;
    acc.parent = a->parent;
    acc.description = a->description;
    if (!a->credit_limit.empty()) acc.credit_limit = parse_amount(a->credit_limit, currency(ctx));
    Ledger& l = ctx.ledger();
    l.add_account(acc);
    Account stored = l.find_account(acc.name).value_or(acc);
    if (ctx.json) {
      print_json(json{{"account", stored.name},
                      {"parent", stored.parent},
                      {"credit_limit", format_amount(stored.credit_limit, currency(ctx))},
                      {"description", stored.description},
                      {"created", format_time(stored.created)}});
    } else if (ctx.parsable) {
      print_table(ctx, {"Account", "Parent", "CreditLimit", "Description"},
                  {{stored.name, stored.parent, format_amount(stored.credit_limit, currency(ctx)), stored.description}});
    } else {
      std::printf("account '%s' created\n", stored.name.c_str());
    }
  });

  CLI::App* list = account->add_subcommand("list", "List accounts with their balances");
  list->callback([&ctx] {
    Ledger& l = ctx.ledger(true);
    const Currency& cur = currency(ctx);
    auto accounts = l.list_accounts();
    if (ctx.json) {
      json j = json::array();
      for (const auto& acc : accounts) {
        json b = balance_json(l.balance(acc.name), cur);
        b["parent"] = acc.parent;
        b["description"] = acc.description;
        j.push_back(b);
      }
      print_json(j);
      return;
    }
    auto fmt = [&](Money m) { return ctx.parsable ? format_amount(m, cur) : format_money(m, cur); };
    std::vector<std::vector<std::string>> rows;
    for (const auto& acc : accounts) {
      Balance b = l.balance(acc.name);
      rows.push_back({acc.name, acc.parent, fmt(b.balance()), fmt(b.held), fmt(b.available()), acc.description});
    }
    print_table(ctx, {"Account", "Parent", "Balance", "Held", "Available", "Description"}, rows);
  });

  CLI::App* show = account->add_subcommand("show", "Show an account: settings, members, balance, active holds");
  show->add_option("name", a->account, "account name")->required();
  show->callback([&ctx, a] {
    Ledger& l = ctx.ledger(true);
    const Currency& cur = currency(ctx);
    auto acc = l.find_account(a->account);
    if (!acc)
      throw Error(Errc::not_found, "unknown account '" + a->account + "'",
                  "create it with: paracloud bank account add " + a->account);
    Balance b = l.balance(acc->name);
    auto users = l.users_of(acc->name);
    auto liens = l.active_liens(acc->name);
    std::vector<std::string> member_text;
    for (const auto& u : users)
      member_text.push_back(u + (l.default_account(u) == acc->name ? " (default)" : ""));
    if (ctx.json) {
      json j = balance_json(b, cur);
      j["parent"] = acc->parent;
      j["description"] = acc->description;
      j["created"] = format_time(acc->created);
      j["members"] = users;
      j["holds"] = json::array();
      for (const auto& e : liens) j["holds"].push_back(entry_json(e, cur));
      print_json(j);
      return;
    }
    auto fmt = [&](Money m) { return ctx.parsable ? format_amount(m, cur) : format_money(m, cur); };
    std::string members;
    for (const auto& m : member_text) members += (members.empty() ? "" : ", ") + m;
    std::vector<std::vector<std::string>> rows = {
        {"Account", acc->name},          {"Parent", acc->parent},
        {"Description", acc->description}, {"Created", format_time(acc->created)},
        {"Members", members},            {"Balance", fmt(b.balance())},
        {"Deposits", fmt(b.deposits)},   {"Charges", fmt(b.charges)},
        {"Refunds", fmt(b.refunds)},     {"Held", fmt(b.held)},
        {"CreditLimit", fmt(b.credit_limit)}, {"Available", fmt(b.available())},
        {"ActiveHolds", std::to_string(liens.size())}};
    print_table(ctx, {"Field", "Value"}, rows);
    if (!liens.empty() && !ctx.parsable) {
      std::puts("");
      std::vector<std::vector<std::string>> lr;
      for (const auto& e : liens)
        lr.push_back({e.key, fmt(e.amount), e.job, e.user, format_time(e.time), e.expires ? format_time(e.expires) : "never"});
      print_table(ctx, {"HoldKey", "Amount", "Job", "User", "Since", "Expires"}, lr);
    }
  });

  CLI::App* set = account->add_subcommand("set", "Change an account's credit limit");
  set->add_option("name", a->account, "account name")->required();
  set->add_option("--credit-limit", a->credit_limit, "how far below zero the account may go")->required();
  set->callback([&ctx, a] {
    Ledger& l = ctx.ledger();
    l.set_credit_limit(a->account, parse_amount(a->credit_limit, currency(ctx)));
    print_balances(ctx, {l.balance(a->account)});
  });
}

}  // namespace

void add_bank_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BankArgs>();
  CLI::App* bank = app.add_subcommand(
      "bank", "Prepaid accounts: deposits, balances, statements, refunds (paracloud-bank(1))");
  bank->require_subcommand(1);
  add_account_commands(*bank, ctx, a);

  CLI::App* user = bank->add_subcommand("user", "Account membership of users");
  user->require_subcommand(1);
  CLI::App* uadd = user->add_subcommand("add", "Let a user charge jobs to an account");
  uadd->add_option("user", a->user, "login name")->required();
  uadd->add_option("-A,--account", a->account, "account")->required();
  uadd->add_flag("--default", a->make_default, "make it the user's default account (a first account always is)");
  uadd->callback([&ctx, a] {
    Ledger& l = ctx.ledger();
    l.add_user(a->user, a->account, a->make_default);
    std::string def = l.default_account(a->user).value_or("");
    if (ctx.json)
      print_json(json{{"user", a->user}, {"account", a->account}, {"default_account", def}});
    else if (ctx.parsable)
      print_table(ctx, {"User", "Account", "DefaultAccount"}, {{a->user, a->account, def}});
    else
      std::printf("user '%s' added to account '%s' (default account: %s)\n", a->user.c_str(), a->account.c_str(),
                  def.c_str());
  });

  CLI::App* dep = bank->add_subcommand("deposit", "Add funds to an account (a negative amount corrects a deposit)");
  dep->add_option("account", a->account, "account")->required();
  dep->add_option("amount", a->amount, "amount in the configured currency, e.g. 100 or 99.50")->required();
  dep->add_option("--key", a->key, "idempotency key (default: a new unique key, printed)");
  dep->add_option("--note", a->note, "free text kept in the journal");
  dep->callback([&ctx, a] {
    Money m = parse_amount(a->amount, currency(ctx), true);
    std::string key = a->key.empty() ? generated_key("deposit", a->account) : a->key;
    print_result(ctx, ctx.ledger().deposit(a->account, m, key, ctx.invoking_user(), a->note));
  });

  CLI::App* bal = bank->add_subcommand("balance", "Show an account's balance, holds and available funds");
  bal->add_option("account", a->account, "account (default: your default account)");
  bal->add_option("-A,--account", a->parent, "account (same as the positional)");
  bal->callback([&ctx, a] {
    Ledger& l = ctx.ledger(true);
    std::string account = account_or_default(ctx, l, a->account.empty() ? a->parent : a->account);
    print_balances(ctx, {l.balance(account)});
  });

  CLI::App* st = bank->add_subcommand("statement", "List an account's journal entries");
  st->add_option("account", a->account, "account (default: your default account)");
  st->add_option("-A,--account", a->parent, "account (same as the positional)");
  st->add_option("-S,--starttime", a->start, "entries at or after this time (default: the beginning)");
  st->add_option("-E,--endtime", a->end, "entries at or before this time (default: now)");
  st->add_option("--limit", a->limit, "at most this many entries (default: all)");
  st->callback([&ctx, a] {
    Ledger& l = ctx.ledger(true);
    const Currency& cur = currency(ctx);
    StatementQuery q;
    q.account = account_or_default(ctx, l, a->account.empty() ? a->parent : a->account);
    if (!a->start.empty()) q.since = parse_time(a->start);
    if (!a->end.empty()) q.until = parse_time(a->end) + 1;  // -E is inclusive: "-E now" shows this second too
    if (q.until != 0 && q.until <= q.since)
      throw Error(Errc::bad_input,
                  "end time " + format_time(q.until - 1) + " is before start time " + format_time(q.since),
                  "give -E at or after -S");
    q.limit = a->limit;
    auto entries = l.statement(q);
    if (ctx.json) {
      json j{{"account", q.account}, {"currency", cur.code}, {"entries", json::array()}};
      for (const auto& e : entries) j["entries"].push_back(entry_json(e, cur));
      j["balance"] = balance_json(l.balance(q.account), cur);
      print_json(j);
      return;
    }
    auto fmt = [&](Money m) { return ctx.parsable ? format_amount(m, cur) : format_money(m, cur); };
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : entries)
      rows.push_back({format_time(e.time), to_string(e.kind), fmt(e.amount), fmt(e.balance_after), e.key, e.ref,
                      e.job, e.user, e.note});
    print_table(ctx, {"Time", "Kind", "Amount", "BalanceAfter", "Key", "Ref", "Job", "User", "Note"}, rows);
  });

  CLI::App* rf = bank->add_subcommand("refund", "Give back (part of) an earlier charge");
  rf->add_option("charge_key", a->lien, "key of the charge (see bank statement)")->required();
  rf->add_option("amount", a->amount, "amount, at most the charge minus earlier refunds")->required();
  rf->add_option("--key", a->key, "idempotency key (default: a new unique key, printed)");
  rf->add_option("--note", a->note, "why (kept in the journal)");
  rf->callback([&ctx, a] {
    Money m = parse_amount(a->amount, currency(ctx));
    std::string key = a->key.empty() ? generated_key("refund", a->lien) : a->key;
    print_result(ctx, ctx.ledger().refund(a->lien, m, key, ctx.invoking_user(), a->note));
  });

  CLI::App* ch = bank->add_subcommand("charge", "Charge an account by hand (operator tool; jobs are charged by jobcomp)");
  ch->add_option("account", a->account, "account")->required();
  ch->add_option("amount", a->amount, "amount")->required();
  ch->add_option("--key", a->key, "idempotency key (required: a charge must not happen twice)")->required();
  ch->add_option("--hold", a->lien, "key of a hold to release with this charge");
  ch->add_option("--job", a->job, "job reference, e.g. cluster:jobid");
  ch->add_option("--note", a->note, "free text");
  ch->callback([&ctx, a] {
    Money m = parse_amount(a->amount, currency(ctx));
    print_result(ctx, ctx.ledger().charge(a->account, m, a->key, a->lien, a->job, ctx.invoking_user(), a->note));
  });

  CLI::App* hold = bank->add_subcommand("hold", "Hold funds (a lien) until released or charged (operator tool)");
  hold->add_option("account", a->account, "account")->required();
  hold->add_option("amount", a->amount, "amount")->required();
  hold->add_option("--key", a->key, "idempotency key (default: a new unique key, printed)");
  hold->add_option("--job", a->job, "job reference, e.g. cluster:jobid");
  auto* exp = hold->add_option("--expires", a->expires, "when the hold lapses (a time as for -S); default never");
  hold->add_option("--for", a->duration, "or: how long the hold lasts, e.g. 2:00:00 or 1-00:00:00")->excludes(exp);
  hold->callback([&ctx, a] {
    Money m = parse_amount(a->amount, currency(ctx));
    std::int64_t expires = 0;
    if (!a->expires.empty()) expires = parse_time(a->expires, false);
    if (!a->duration.empty()) expires = ledger_now() + parse_duration(a->duration);
    std::string key = a->key.empty() ? generated_key("hold", a->account) : a->key;
    print_result(ctx, ctx.ledger().place_lien(a->account, m, key, expires, a->job, ctx.invoking_user()));
  });

  CLI::App* rel = bank->add_subcommand("release", "Release a hold without charging (operator tool)");
  rel->add_option("hold_key", a->lien, "key of the hold")->required();
  rel->add_option("--key", a->key, "idempotency key (default: release:HOLD_KEY)");
  rel->add_option("--note", a->note, "why");
  rel->callback([&ctx, a] {
    std::string key = a->key.empty() ? "release:" + a->lien : a->key;
    print_result(ctx, ctx.ledger().release_lien(a->lien, key, a->note));
  });
}

}  // namespace paracloud::cli
