// Submit-time core: the worst-case resources of a job request and the affordability verdict (no Slurm headers).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "config/config.hpp"
#include "ledger/ledger.hpp"
#include "money/pricing.hpp"

namespace paracloud {

// What the adapter knows about one partition (job_submit/paracloud reads it with
// slurm_load_partitions()/slurm_load_node() in a background thread). 0 means "unknown / not set".
struct PartitionFacts {
  std::string name;
  std::int64_t cpus_per_node = 0;        // CPUs of the partition's largest node
  std::int64_t mem_per_node_mb = 0;      // RealMemory of the partition's largest node (for --mem=0)
  std::int64_t total_nodes = 0;          // nodes in the partition
  std::int64_t default_time_min = 0;     // DefaultTime in minutes (0: not set or UNLIMITED)
  std::int64_t max_time_min = 0;         // MaxTime in minutes (0: UNLIMITED)
  std::int64_t def_mem_per_cpu_mb = 0;   // DefMemPerCPU (partition's, else slurm.conf's)
  std::int64_t def_mem_per_node_mb = 0;  // DefMemPerNode (partition's, else slurm.conf's)
};

// Time limit sentinels of JobRequest::time_limit_min.
constexpr std::int64_t kTimeNotGiven = -1;   // job_desc time_limit == NO_VAL
constexpr std::int64_t kTimeUnlimited = -2;  // job_desc time_limit == INFINITE, or --time=0

// A job request as plain values, one field per job_desc_msg_t field it mirrors.
// Counts are 0 when not given (the adapter maps NO_VAL, NO_VAL16 and 0xffff to 0).
struct JobRequest {
  std::string partition;               // one partition name (the adapter splits "a,b" lists)
  std::int64_t min_cpus = 0;           // min_cpus
  std::int64_t max_cpus = 0;           // max_cpus
  std::int64_t num_tasks = 0;          // num_tasks (-n)
  std::int64_t cpus_per_task = 0;      // cpus_per_task (-c)
  std::int64_t ntasks_per_node = 0;    // ntasks_per_node
  std::int64_t pn_min_cpus = 0;        // pn_min_cpus (--mincpus)
  std::int64_t min_nodes = 0;          // min_nodes (-N MIN[-MAX])
  std::int64_t max_nodes = 0;          // max_nodes
  std::int64_t sockets_per_node = 0;   // sockets_per_node (needed by --gpus-per-socket)
  bool mem_given = false;              // pn_min_memory != NO_VAL64
  std::int64_t mem_mb = 0;             // pn_min_memory without the MEM_PER_CPU bit; 0 = whole node
  bool mem_per_cpu = false;            // the MEM_PER_CPU bit (--mem-per-cpu) was set
  std::string mem_per_tres;            // mem_per_tres (--mem-per-gpu): "gres:gpu:1024" (MB per GPU)
  bool exclusive = false;              // shared == 0 (--exclusive): whole nodes
  std::string tres_per_job;            // tres_per_job  (--gpus):             "gres:gpu:2"
  std::string tres_per_node;           // tres_per_node (--gres, --gpus-per-node): "gres:gpu:a100:2"
  std::string tres_per_task;           // tres_per_task (--gpus-per-task)
  std::string tres_per_socket;         // tres_per_socket (--gpus-per-socket)
  std::int64_t time_limit_min = kTimeNotGiven;  // minutes, or kTimeNotGiven / kTimeUnlimited
};

// The worst case of a request and where its time limit came from (shown to users).
struct WorstCase {
  JobResources resources;
  std::string time_source;  // "--time", "partition DefaultTime", "partition MaxTime", "DefaultTimeLimit", ...
  // > 0: the adapter must give the job this time limit (minutes), the one it was priced for:
  // without it the job would run UNLIMITED (issue 16 item 3). 0: Slurm's own limit is the priced one.
  std::int64_t set_time_limit_min = 0;
};

// Parses a Slurm TRES list ("gres:gpu:a100:2,gres:mps:100", "gres/gpu:2", "gpu:2", ';' or ','
// separated) into counts keyed like JobResources::gres: "gpu" (untyped) or "gpu:a100". A missing
// count is 1; counts take Slurm's K/M/G/T suffixes (powers of 1024). Items of the same key add up.
// A zero count ("gpu:0") asks for none. Throws Error(bad_input) naming `what` and the item for junk.
std::map<std::string, std::int64_t> parse_tres_counts(const std::string& spec, const std::string& what);

// The most a job may use, by these rules (each one a worst case Slurm may really allocate):
//  nodes  : max_nodes if given (a range -N 2-4 costs 4), else min_nodes; if neither is given,
//           whole-node jobs (--exclusive) need ceil(cpus / cpus_per_node) nodes and shared jobs
//           may be spread one task per node, i.e. up to the task count; capped at the partition's
//           node count when known, and never below ceil(cpus / cpus_per_node).
//  tasks  : num_tasks if given, else nodes x ntasks_per_node, else one task per node.
//  cpus   : the largest of min_cpus, max_cpus, tasks x cpus_per_task, nodes x pn_min_cpus, 1;
//           whole-node jobs get nodes x cpus_per_node when the partition's node size is known.
//  memory : --mem-per-cpu x cpus; --mem x nodes; --mem=0 = the largest node's memory x nodes
//           (0 when unknown); --mem-per-gpu x GPUs when no other memory option is given; else
//           DefMemPerCPU x cpus or DefMemPerNode x nodes; else 0 (memory not tracked).
//  gres   : per job as is; per node x nodes; per task x tasks; per socket x nodes x
//           sockets_per_node (Slurm requires --sockets-per-node with it; 1 when absent). The same
//           gres from several options counts once, at its largest total.
//  time   : --time if given; not given: the partition's DefaultTime, else its MaxTime, else
//           paracloud.conf DefaultTimeLimit; UNLIMITED (or --time=0): the partition's MaxTime,
//           else DefaultTimeLimit. Whenever Slurm would otherwise run the job UNLIMITED (UNLIMITED
//           asked, or no limit anywhere) set_time_limit_min is the priced limit, in whole minutes
//           (DefaultTimeLimit rounded up): a job never runs longer than it was priced and held for.
// Throws Error(bad_input) for unreadable TRES strings.
WorstCase worst_case(const JobRequest& req, const PartitionFacts& part, std::int64_t default_time_limit_s);

// "64 cpu, 2 gpu:a100, 8 node x 02:00:00 on a/batch": the priced units of a quote, for messages.
std::string describe_quote(const Quote& q);

// What job_submit decides, computed by check_submission().
enum class Verdict {
  ok,
  no_account,          // no --account and no default account
  unknown_account,     // --account names no ledger account
  not_member,          // the user may not charge that account
  no_price,            // no PriceName rule covers site/partition (or the site is unknown)
  unpriced_tres,       // the rule does not price a requested gres
  bad_request,         // the request cannot be priced (absurd sizes)
  insufficient_funds,  // quote > available funds
};

struct SubmitCheck {
  std::string user;           // job owner's login name
  std::string account;        // --account; empty: the user's default account in the ledger
  JobResources resources;     // worst case (site and partition filled in)
  std::string time_source;    // from WorstCase, mentioned in messages when not "--time"
};

struct SubmitResult {
  Verdict verdict = Verdict::ok;
  std::string account;        // the account used (defaulted or given); empty when none
  bool account_defaulted = false;
  Quote quote;                // valid when the job was priced
  Money available = 0;        // the account's available funds (when looked up)
  std::string message;        // for the user, starting "paracloud: " and naming the fix (empty when ok)
};

// Remembers, for a short time, which account a (user, --account) pair resolved to after the
// account was found to exist and the user to be a member: membership changes are rare operator
// actions, so a submit burst then costs one ledger query (the balance) per job instead of four.
// Only successes are remembered (a user just added to an account can submit at once); removing
// a member takes effect after at most ttl. Not thread-safe: the caller serialises.
class MembershipCache {
 public:
  explicit MembershipCache(std::int64_t ttl_ns = 1000000000) : ttl_ns_(ttl_ns) {}
  // The account for (user, requested) if remembered and younger than ttl at now_ns; else nullptr.
  const std::string* find(const std::string& user, const std::string& requested, std::int64_t now_ns,
                          bool* defaulted) const;
  void put(const std::string& user, const std::string& requested, const std::string& account, bool defaulted,
           std::int64_t now_ns);
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    std::string account;
    bool defaulted = false;
    std::int64_t expires_ns = 0;
  };
  std::int64_t ttl_ns_;
  std::map<std::string, Entry> entries_;  // key: user '\n' requested account
};

// job_modify (issue 16 item 2): whether `user`, the job's owner, may move a job to `account`.
// ok when the account exists and the user is a member; else not_member/unknown_account/no_account
// with the message for the user (naming the user's own accounts). Only reads the ledger.
SubmitResult check_account_change(Ledger& ledger, const std::string& user, const std::string& account);

// Resolves the account, checks membership, prices the worst case and compares it with the
// account's available funds. Only reads the ledger. Storage/config failures propagate as Error.
// With a cache (and the caller's monotonic now_ns) a remembered membership skips three queries.
SubmitResult check_submission(const Config& cfg, Ledger& ledger, const SubmitCheck& req,
                              MembershipCache* cache = nullptr, std::int64_t now_ns = 0);

}  // namespace paracloud
