// lib/io: the chunk-cache thrash rule read from the shipped rules file (golden decision), rules
// that do not match, corrupt rules files, the store's decide/measure/withdraw cycle.
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "io/io_rules.hpp"
#include "io/io_store.hpp"

using namespace paracloud::io;

namespace {

Rules shipped() { return read_rules(IO_RULES_FILE); }
std::string fixture(const char* name) { return std::string(IO_DATA_DIR) + "/" + name; }

// Row-by-row reads of a 128 x 8192 double dataset in deflated 64 x 4096 chunks (2 MiB) with
// HDF5's default 1 MiB chunk cache: every row spans 2 chunks, 128 rows touch 256 chunks of 4.
DatasetEvidence thrash() {
  DatasetEvidence e;
  e.dataset = "/data";
  e.file = "rows.h5";
  e.dims = {128, 8192};
  e.chunk = {64, 4096};
  e.chunk_bytes = 64 * 4096 * 8;
  e.filters = 1;
  e.cache_bytes = 1 << 20;
  e.cache_slots = 521;
  e.reads = 128;
  e.chunk_touches = 256;
  e.max_chunks_per_read = 2;
  e.read_ns = 2000000000;
  return e;
}

std::string temp_dir() {
  char t[] = "/tmp/test_io_rules.XXXXXX";
  cr_assert(mkdtemp(t));
  return t;
}

}  // namespace

Test(io_rules, thrash_gets_a_cache_sized_to_the_working_set) {
  const auto d = decide(thrash(), shipped());
  cr_assert(d.has_value());
  cr_expect_eq(d->rule, "chunk_cache_thrash");
  cr_expect_eq(d->setting, "H5Pset_chunk_cache");
  cr_expect_eq(d->nbytes, 8u << 20, "2 chunks x 2 MiB x headroom 2 = 8 MiB, got %llu",
               (unsigned long long)d->nbytes);
  cr_expect_eq(d->nslots, 521u, "max(min_slots 521, 4 chunks x 100) -> prime 521, got %llu",
               (unsigned long long)d->nslots);
  cr_expect_float_eq(d->w0, 0.75, 1e-9);
  cr_expect(d->reason.find("256 chunks") != std::string::npos, "%s", d->reason.c_str());
  cr_expect(d->reason.find("compressed") != std::string::npos, "%s", d->reason.c_str());
}

Test(io_rules, nslots_follow_the_chunks_that_fit) {
  DatasetEvidence e = thrash();
  e.chunk = {8, 4096};  // 256 KiB chunks, a row spans 4 of them: a 1 MiB working set
  e.chunk_bytes = 8 * 4096 * 8;
  e.dims = {128, 16384};
  e.max_chunks_per_read = 4;
  e.chunk_touches = 128 * 4;
  e.cache_bytes = 512 << 10;
  const auto d = decide(e, shipped());
  cr_assert(d.has_value());
  cr_expect_eq(d->nbytes, 2u << 20);
  cr_expect_eq(d->nslots, 809u, "8 chunks fit x 100 = 800 -> next prime 809, got %llu",
               (unsigned long long)d->nslots);
}

Test(io_rules, no_decision_without_thrash) {
  const Rules r = shipped();
  DatasetEvidence once = thrash();  // every chunk read once
  once.chunk_touches = 4;
  once.reads = 8;
  cr_expect(!decide(once, r).has_value(), "read once: nothing to cache");
  DatasetEvidence fits = thrash();  // the default cache holds the working set
  fits.cache_bytes = 64u << 20;
  cr_expect(!decide(fits, r).has_value(), "cache already large enough");
  DatasetEvidence plain = thrash();  // uncompressed chunks smaller than the cache
  plain.filters = 0;
  plain.chunk = {8, 1024};
  plain.chunk_bytes = 8 * 1024 * 8;
  plain.max_chunks_per_read = 32;
  cr_expect(!decide(plain, r).has_value(), "small uncompressed chunks: HDF5 reads them directly");
  DatasetEvidence contiguous = thrash();
  contiguous.chunk.clear();
  cr_expect(!decide(contiguous, r).has_value(), "not chunked");
  DatasetEvidence huge = thrash();  // 200 chunks x 2 MiB x 2 > the 256 MiB cap
  huge.max_chunks_per_read = 200;
  huge.dims = {128, 819200};
  huge.chunk_touches = 128 * 200 * 4;
  cr_expect(!decide(huge, r).has_value(), "working set over max_bytes");
}

Test(io_rules, thresholds_come_from_the_file) {
  const Rules strict = read_rules(fixture("rules_strict_reads.json"));
  cr_expect(!decide(thrash(), strict).has_value(), "reads >= 1000 in this file: 128 reads do not match");
}

Test(io_rules, corrupt_rules_files_are_refused_with_the_reason) {
  const char* bad[][2] = {{"rules_truncated.json", "not JSON"},
                          {"rules_version2.json", "'version' is not 1"},
                          {"rules_unknown_metric.json", "unknown metric 'chunk_misses'"},
                          {"rules_bad_headroom.json", "headroom >= 1"},
                          {"no_such_file.json", "cannot open"}};
  for (auto& b : bad) {
    bool threw = false;
    try {
      read_rules(fixture(b[0]));
    } catch (const IoRulesError& e) {
      threw = true;
      cr_expect(std::string(e.what()).find(b[1]) != std::string::npos, "%s: %s", b[0], e.what());
    }
    cr_expect(threw, "%s was accepted", b[0]);
  }
}

Test(io_store, decide_measure_and_withdraw) {
  const Rules r = shipped();
  IoStoreFile f;
  fold_run(f, {thrash()}, 300, r, "t1");
  cr_assert_eq(f.decisions.size(), 1u);
  cr_expect_eq(f.decisions[0].status, "active");
  cr_expect_eq(f.decisions[0].before.preads, 300u);
  cr_expect_eq(f.decisions[0].runs_applied, 0u);
  // The next run applied it: 40x faster, 20 preads.
  DatasetEvidence tuned = thrash();
  tuned.tuned = true;
  tuned.cache_bytes = 8u << 20;
  tuned.read_ns = 50000000;
  fold_run(f, {tuned}, 20, r, "t2");
  cr_expect_eq(f.decisions[0].runs_applied, 1u);
  cr_expect_float_eq(f.decisions[0].speedup(), 40.0, 1e-6);
  cr_expect_eq(f.decisions[0].after.preads, 20u);
  cr_expect_eq(f.decisions[0].status, "active");
  // Round trip through the file format.
  const IoStoreFile g = parse_store(serialize_store(f));
  cr_assert_eq(g.decisions.size(), 1u);
  cr_expect_eq(g.decisions[0].decision.nbytes, 8u << 20);
  cr_expect_eq(g.decisions[0].after.read_ns, 50000000u);
  cr_expect_eq(g.decisions[0].decision.reason, f.decisions[0].decision.reason);
  // A run that got slower than before: withdrawn, recorded, never decided again.
  tuned.read_ns = 2500000000;
  fold_run(f, {tuned}, 300, r, "t3");
  cr_expect_eq(f.decisions[0].status, "withdrawn");
  cr_expect_eq(f.decisions[0].withdrawn, "t3");
  cr_expect(f.decisions[0].withdrawn_reason.find("withdrawn") != std::string::npos);
  fold_run(f, {thrash()}, 300, r, "t4");
  cr_expect_eq(f.decisions.size(), 1u);
  cr_expect_eq(f.decisions[0].status, "withdrawn");
}

Test(io_store, record_run_writes_a_private_file_and_replaces_a_corrupt_one) {
  const std::string dir = temp_dir() + "/store";
  paracloud::tune::AppId app;
  app.name = "rows";
  app.build_id = "00112233445566778899";
  const std::string path = record_run(app, dir, {thrash()}, 300, shipped());
  cr_expect_eq(path, store_path(app, dir));
  struct stat st {};
  cr_assert_eq(stat(path.c_str(), &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0600u);
  cr_assert_eq(stat(dir.c_str(), &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0700u);
  cr_expect_eq(read_store(path).decisions.size(), 1u);
  std::ofstream(path) << "{\"schema\": \"paracloud-io-tune\", \"version\": 1, \"app\": ";
  bool threw = false;
  try {
    read_store(path);
  } catch (const IoRulesError& e) {
    threw = true;
    cr_expect(std::string(e.what()).find("remove the file") != std::string::npos, "%s", e.what());
  }
  cr_expect(threw);
  record_run(app, dir, {thrash()}, 300, shipped());
  cr_expect_eq(read_store(path).decisions.size(), 1u);
}
