// Reconciliation of the journal and the records with slurmdbd's runs (reconcile.hpp).
#include "billing/reconcile.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "common/text.hpp"

namespace paracloud {
namespace {


bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos;
}

std::int64_t time_field(const std::string& s) { return all_digits(s) ? std::stoll(s) : 0; }

// A run's identity as settlement keys it.
struct RunId {
  std::string cluster;
  std::int64_t job_id = 0;
  std::int64_t start = 0;
  bool operator<(const RunId& o) const {
    return std::tie(cluster, job_id, start) < std::tie(o.cluster, o.job_id, o.start);
  }
  std::string text() const { return cluster + ":" + std::to_string(job_id) + ":" + std::to_string(start); }
};

// "charge:b:42:1796638830" -> {b, 42, 1796638830} for `kind`; false for any other key (an operator's
// own charge or hold).
bool run_of_key(const std::string& key, const char* kind, RunId* out) {
  std::vector<std::string> p = split(key, ':');
  if (p.size() != 4 || p[0] != kind || p[1].empty() || !all_digits(p[2]) || !all_digits(p[3])) return false;
  *out = {p[1], std::stoll(p[2]), std::stoll(p[3])};
  return true;
}

bool ended(const SlurmRun& r) {
  return r.start > 0 && r.end > 0 && r.state != "RUNNING" && r.state != "PENDING" && r.state != "REVOKED" &&
         r.state != "SUSPENDED";
}

}  // namespace

std::vector<SlurmRun> parse_sacct_runs(const std::string& text) {
  std::vector<SlurmRun> out;
  std::size_t n = 0;
  for (const std::string& raw : split(text, '\n')) {
    ++n;
    std::string line = raw;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f = split(line, '|');
    if (f.size() != 6)
      throw Error(Errc::bad_input,
                  "sacct line " + std::to_string(n) + " has " + std::to_string(f.size()) +
                      " fields, expected 6 (cluster|jobid|state|start|end|alloccpus): " + line.substr(0, 120),
                  "run sacct with -n -P -o cluster,jobid,state,start,end,alloccpus and SLURM_TIME_FORMAT=%s");
    if (!all_digits(f[1])) continue;  // array tasks (12_3) and het components (12+0): keyed otherwise
    SlurmRun r;
    r.cluster = f[0];
    r.job_id = std::stoll(f[1]);
    r.state = f[2].substr(0, f[2].find(' '));  // "CANCELLED by 0"
    r.start = time_field(f[3]);
    r.end = time_field(f[4]);
    r.cpus = all_digits(f[5]) ? std::stoll(f[5]) : 0;
    out.push_back(std::move(r));
  }
  return out;
}

ReconcileReport reconcile(const ReconcileInput& in, const Currency& cur) {
  ReconcileReport rep;
  auto in_window = [&](std::int64_t t) { return (in.since == 0 || t >= in.since) && (in.until == 0 || t < in.until); };
  const std::int64_t settled_by = in.now - in.grace;

  std::map<RunId, const SlurmRun*> runs;
  std::map<std::int64_t, std::vector<const SlurmRun*>> runs_of_job;
  for (const auto& r : in.runs) {
    if (r.start > 0) runs[{r.cluster, r.job_id, r.start}] = &r;
    runs_of_job[r.job_id].push_back(&r);
  }
  std::map<RunId, const AccountingRecord*> records;
  for (const auto& r : in.records)
    if (r.job.start > 0) records[{r.job.cluster, static_cast<std::int64_t>(r.job.job_id), r.job.start}] = &r;

  std::map<std::string, const Entry*> charge_by_key;
  std::map<RunId, std::vector<const Entry*>> charges_of_run;
  std::map<std::int64_t, std::vector<std::pair<RunId, const Entry*>>> charges_of_job;
  std::set<std::string> closed_liens;  // lien keys a release or charge refers to
  for (const auto& e : in.journal) {
    if (e.kind == EntryKind::charge) {
      charge_by_key[e.key] = &e;
      if (!e.ref.empty()) closed_liens.insert(e.ref);
      RunId id;
      if (run_of_key(e.key, "charge", &id)) {
        charges_of_run[id].push_back(&e);
        charges_of_job[id.job_id].push_back({id, &e});
      }
    } else if (e.kind == EntryKind::release) {
      closed_liens.insert(e.ref);
    }
  }
  auto add = [&](const char* kind, std::string run, const std::string& account, Money amount, std::string key,
                 std::string detail) {
    rep.findings.push_back({kind, std::move(run), account, amount, std::move(key), std::move(detail)});
  };

  // Every run that ended in the window: charged once, as its record says and as Slurm ran it.
  for (const auto& [id, r] : runs) {
    if (!ended(*r) || !in_window(r->end)) continue;
    ++rep.runs_checked;
    auto rec_it = records.find(id);
    const AccountingRecord* rec = rec_it == records.end() ? nullptr : rec_it->second;
    auto ch_it = charges_of_run.find(id);
    if (ch_it == charges_of_run.end()) {
      if (r->end >= settled_by) continue;  // may still be settling
      if (rec && rec->charge_key.empty() && rec->net() == 0 && rec->cost == 0 &&
          rec->note.rfind("NOT CHARGED", 0) != 0)
        continue;  // nothing to charge (the record says why)
      std::string why = !rec ? "no charge and no accounting record"
                        : rec->note.rfind("NOT CHARGED", 0) == 0
                            ? "its record says " + rec->note
                        : !rec->charge_key.empty() ? "its record names charge " + rec->charge_key + ", which the ledger lacks"
                                                   : "no charge entry (record cost " + format_money(rec->cost, cur) + ")";
      add("not_charged", id.text(), rec ? rec->ledger_account : "", rec ? rec->cost : 0, "",
          r->state + " run of " + std::to_string(r->end - r->start) + " s on " + std::to_string(r->cpus) +
              " CPUs: " + why);
      continue;
    }
    const Entry& ch = *ch_it->second.front();
    if (ch_it->second.size() > 1)
      add("charged_twice", id.text(), ch.account, ch_it->second[1]->amount, ch_it->second[1]->key,
          "charged " + std::to_string(ch_it->second.size()) + " times");
    if (!rec) {
      add("charge_differs", id.text(), ch.account, ch.amount, ch.key,
          "charged " + format_money(ch.amount, cur) + " but no accounting log read has a record of the run");
      continue;
    }
    std::string diff;
    if (rec->cost != ch.amount)
      diff += "charge " + format_money(ch.amount, cur) + " but record cost " + format_money(rec->cost, cur) + "; ";
    if (rec->job.end != r->end)
      diff += "record end " + std::to_string(rec->job.end) + " but Slurm's " + std::to_string(r->end) + "; ";
    if (r->cpus > 0 && rec->job.cpus != r->cpus)
      diff += "record " + std::to_string(rec->job.cpus) + " CPUs but Slurm's " + std::to_string(r->cpus) + "; ";
    if (!diff.empty()) {
      diff.resize(diff.size() - 2);
      add("charge_differs", id.text(), ch.account, ch.amount, ch.key, diff);
    }
  }

  // Every run charge in the window whose run Slurm does not know.
  for (const auto& [job, list] : charges_of_job) {
    for (const auto& [id, e] : list) {
      ++rep.charges_checked;
      // slurmdbd learns of a run a little after its controller settles it: judged after the grace
      if (!in_window(e->time) || runs.count(id) || e->time >= settled_by) continue;
      bool other_known = false;
      for (const auto& [id2, e2] : list) other_known = other_known || runs.count(id2) > 0;
      std::string slurm;
      for (const SlurmRun* r : runs_of_job[job])
        slurm += (slurm.empty() ? "" : ", ") + r->cluster + " start " + std::to_string(r->start);
      if (other_known)
        add("charged_twice", id.text(), e->account, e->amount, e->key,
            "job " + std::to_string(job) + " charged again for a run Slurm did not record (Slurm ran it: " + slurm +
                ")");
      else
        add("charge_without_run", id.text(), e->account, e->amount, e->key,
            slurm.empty() ? "Slurm has no job " + std::to_string(job)
                          : "Slurm ran job " + std::to_string(job) + " as " + slurm + ", not this run");
    }
  }

  // Holds still open.
  for (const auto& e : in.journal) {
    if (e.kind != EntryKind::lien || closed_liens.count(e.key)) continue;
    ++rep.holds_open;
    if (!in_window(e.time) || e.time >= settled_by) continue;
    RunId id;
    std::int64_t job = 0;
    if (run_of_key(e.key, "lien", &id)) job = id.job_id;
    else if (auto colon = e.job.rfind(':'); colon != std::string::npos && all_digits(e.job.substr(colon + 1)))
      job = std::stoll(e.job.substr(colon + 1));
    if (job == 0) continue;  // an operator's hold for no job
    auto it = runs_of_job.find(job);
    if (it == runs_of_job.end()) {
      add("hold_open", id.cluster.empty() ? e.job : id.text(), e.account, e.amount, e.key,
          "open hold of " + format_money(e.amount, cur) + " for job " + std::to_string(job) + ", which Slurm does not know");
      continue;
    }
    bool active = false;
    std::int64_t last_end = 0;
    for (const SlurmRun* r : it->second) {
      if (r->state == "REVOKED") continue;
      if (!ended(*r) && r->state != "CANCELLED") active = true;
      last_end = std::max(last_end, r->end);
    }
    if (!active && last_end > 0 && last_end < settled_by)
      add("hold_open", id.cluster.empty() ? e.job : id.text(), e.account, e.amount, e.key,
          "open hold of " + format_money(e.amount, cur) + " for job " + std::to_string(job) + ", which ended at " +
              std::to_string(last_end));
  }

  // Refunds.
  for (const auto& e : in.journal) {
    if (e.kind != EntryKind::refund || !in_window(e.time)) continue;
    if (!charge_by_key.count(e.ref))
      add("refund_without_job", e.job.empty() ? e.ref : e.job, e.account, e.amount, e.key,
          "refund of " + format_money(e.amount, cur) + " for charge " + e.ref + ", which is not in the journal");
  }

  std::stable_sort(rep.findings.begin(), rep.findings.end(),
                   [](const Finding& a, const Finding& b) { return std::tie(a.run, a.kind) < std::tie(b.run, b.kind); });
  return rep;
}

}  // namespace paracloud
