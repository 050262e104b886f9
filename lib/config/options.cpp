// options_table(): every paracloud.conf key, declared once (drives parsing, `config dump`, paracloud.conf(5)).
#include <strings.h>

#include "config/config.hpp"

namespace paracloud {

const char* to_string(OptType t) {
  switch (t) {
    case OptType::string: return "string";
    case OptType::path: return "path";
    case OptType::integer: return "integer";
    case OptType::boolean: return "boolean";
    case OptType::duration: return "duration";
    case OptType::amount: return "amount";
    case OptType::rate: return "rate";
    case OptType::list: return "list";
    case OptType::enumeration: return "enumeration";
  }
  return "?";
}

// The pattern entry that matches every `gres/<name>` and `gres/<name>:<type>` key of a PriceName line.
static const char kGresPattern[] = "gres/NAME[:TYPE]";

const std::vector<OptionSpec>& options_table() {
  static const std::vector<OptionSpec> table = {
      // scope, name, type, default, doc, choices
      {"", "ClusterName", OptType::string, "",
       "Site (a SiteName) that this controller runs; default: the first SiteName line", nullptr},
      {"", "Currency", OptType::string, "CNY",
       "ISO 4217 code of the ledger's currency (three letters), shown beside every amount", nullptr},
      {"", "CurrencyDigits", OptType::integer, "2",
       "Digits of the currency's minor unit: 2 for CNY, EUR, USD; 0 for JPY", "0..6"},
      {"", "LedgerPath", OptType::path, "/var/lib/paracloud/ledger.db",
       "Ledger holding accounts, balances and the journal: a SQLite file, or a shared MariaDB/MySQL "
       "database as mysql://USER@HOST[:PORT]/DB[?socket=PATH]", "mysql://|mariadb://"},
      {"", "LedgerPassFile", OptType::path, "",
       "File whose first line is the password of a MariaDB/MySQL LedgerPath (mode 0600, owned by SlurmUser)",
       nullptr},
      {"", "AccountingLog", OptType::path, "/var/log/paracloud/accounting.jsonl",
       "JSON-lines log of every charge written at job completion", nullptr},
      {"", "SpoolDir", OptType::path, "/var/spool/paracloud",
       "Directory for records waiting to be written (survives daemon restarts)", nullptr},
      {"", "ProfileDir", OptType::path, "",
       "Directory that spank/paracloud's profile_dir= sends runtime profiles to (give both the same "
       "path); jobcomp/paracloud looks there first, then in the job's WorkDir. Empty: WorkDir only",
       nullptr},
      {"", "DefaultTimeLimit", OptType::duration, "1:00:00",
       "Time limit priced, and given to the job (job_submit), when neither the job nor its partition "
       "has one or the job asks for UNLIMITED and its partition has no MaxTime",
       nullptr},
      {"", "RefundPolicy", OptType::list, "NODE_FAIL",
       "Comma-separated job end states whose charge is refunded in full (empty: none)",
       "BOOT_FAIL|CANCELLED|COMPLETED|DEADLINE|FAILED|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|TIMEOUT"},
      {"", "LienGrace", OptType::duration, "1:00:00",
       "Accepted for old files and not used: a job's hold on funds no longer expires, it lasts until "
       "the job is settled",
       nullptr},
      {"", "LedgerSnapshotMaxAge", OptType::integer, "10",
       "Seconds job_submit may answer from its in-memory copy of the ledger (refreshed every second "
       "off slurmctld's locks); older, jobs are rejected with \"ledger unavailable, retry\"",
       "1..3600"},
      {"", "TuneDefault", OptType::enumeration, "profile",
       "Runtime tuning for jobs that do not choose: off, profile (measure only) or auto (apply rules)",
       "off|profile|auto"},
      {"", "RoutePolicy", OptType::enumeration, "cheapest",
       "How jobs that do not choose (--route) are routed: cheapest (lowest worst-case cost), fastest "
       "(earliest expected start) or balanced (cost plus RouteWaitWeight per hour of expected wait)",
       "cheapest|fastest|balanced"},
      {"", "RouteWaitWeight", OptType::amount, "1",
       "Money that one hour of expected wait is worth to the balanced policy", nullptr},
      {"", "RouteTopK", OptType::integer, "2",
       "Sites a fastest-routed job is offered to at once; the federation starts it where it starts first",
       "1..64"},
      {"", "SiteStateMaxAge", OptType::integer, "60",
       "Seconds after which a site's collected state is stale and the site is not routed to", "1..86400"},
      {"", "SiteStateDir", OptType::path, "/var/spool/paracloud/sites",
       "Directory of the site state files that `paracloud sites collect` writes and job_submit reads", nullptr},
      {"", "SiteQueryTimeout", OptType::integer, "5",
       "Seconds the collector waits for one site's sinfo or squeue before marking it unreachable", "1..300"},
      {"", "SiteCollectInterval", OptType::integer, "10",
       "Seconds between two collections of `paracloud sites collect --daemon`", "1..3600"},

      {"SiteName", "SiteName", OptType::string, "",
       "Starts a site line: the name of a partner site (one Slurm cluster)", nullptr},
      {"SiteName", "Cluster", OptType::string, "", "Slurm ClusterName of the site; default: the SiteName",
       nullptr},
      {"SiteName", "Description", OptType::string, "", "Free text shown in reports", nullptr},
      {"SiteName", "Licenses", OptType::list, "",
       "Licensed software the site offers to routed jobs, NAME[:COUNT] items (count 1 when absent), "
       "matched against sbatch --licenses",
       nullptr},
      {"SiteName", "HealthMaxAge", OptType::integer, "",
       "Seconds after which this site's state is stale; default: SiteStateMaxAge", "1..86400"},
      {"SiteName", "State", OptType::enumeration, "UP",
       "UP takes routed jobs; DRAIN is shown but never routed to", "UP|DRAIN"},

      {"PartitionName", "PartitionName", OptType::string, "",
       "Starts a partition line: SITE:PARTITION, what that partition can run (for routing)", nullptr},
      {"PartitionName", "CpuModel", OptType::string, "",
       "CPU model of the partition's nodes (a --constraint may name it like a feature)", nullptr},
      {"PartitionName", "Features", OptType::list, "",
       "Node features, as in slurm.conf, that --constraint is matched against", nullptr},
      {"PartitionName", "Gpus", OptType::list, "",
       "GPUs per node by type, TYPE:COUNT items such as a100:8,v100:4", nullptr},
      {"PartitionName", "CpusPerNode", OptType::integer, "",
       "CPUs of one node: jobs get at least ceil(cpus / CpusPerNode) nodes", "1..1048576"},
      {"PartitionName", "MemPerNode", OptType::integer, "",
       "Memory of one node in MB: jobs asking for more per node are not routed here", "1..1099511627776"},
      {"PartitionName", "MaxNodes", OptType::integer, "", "Largest node count of one job", "1..1048576"},
      {"PartitionName", "MaxTime", OptType::duration, "", "Longest time limit of one job", nullptr},

      {"PriceName", "PriceName", OptType::string, "",
       "Starts a price line: SITE:PARTITION, where PARTITION * covers the site's other partitions", nullptr},
      {"PriceName", "cpu", OptType::rate, "0", "Price of one allocated CPU for one hour", nullptr},
      {"PriceName", "mem", OptType::rate, "0", "Price of one GB (1024 MB) of memory for one hour", nullptr},
      {"PriceName", "node", OptType::rate, "0", "Price of one allocated node for one hour", nullptr},
      {"PriceName", kGresPattern, OptType::rate, "",
       "Price of one generic resource for one hour: gres/gpu prices every GPU type, gres/gpu:a100 "
       "only that type and takes precedence",
       nullptr},
  };
  return table;
}

// gres/<name>[:<type>]: name of [A-Za-z0-9_], type of [A-Za-z0-9_.-].
static bool is_gres_key(const std::string& key) {
  if (key.size() < 6 || strncasecmp(key.c_str(), "gres/", 5) != 0) return false;
  std::size_t i = 5, name_len = 0, type_len = 0;
  bool typed = false;
  for (; i < key.size(); ++i) {
    char c = key[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!typed && c == ':') {
      typed = true;
    } else if (!typed && alnum) {
      ++name_len;
    } else if (typed && (alnum || c == '.' || c == '-')) {
      ++type_len;
    } else {
      return false;
    }
  }
  return name_len > 0 && (!typed || type_len > 0);
}

const OptionSpec* find_option(const std::string& scope, const std::string& name) {
  for (const auto& o : options_table()) {
    if (strcasecmp(o.scope, scope.c_str()) != 0) continue;
    if (o.name == std::string(kGresPattern)) {
      if (is_gres_key(name)) return &o;
    } else if (strcasecmp(o.name, name.c_str()) == 0) {
      return &o;
    }
  }
  return nullptr;
}

}  // namespace paracloud
