// libFuzzer target: the IO tuning rules file (PARACLOUD_IO_RULES: a site or user file the runtime's
// store library reads) and the IO decisions store file (<app>.io.json in a tuning store). The first
// 4 bytes choose what the rest is fed to. IoRulesError is the only acceptable failure; rules that
// parse must decide on evidence without crashing, and a store that parses must serialise and parse
// again to the same decisions.
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/io_rules.hpp"
#include "io/io_store.hpp"

namespace io = paracloud::io;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool store = data[0] & 1;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (!store) {
      io::Rules r = io::parse_rules(text);
      io::DatasetEvidence e;
      e.dataset = "/d";
      e.dims = {512, 8192};
      e.chunk = {64, 4096};
      e.chunk_bytes = 64 * 4096 * 8;
      e.filters = 1;
      e.cache_bytes = 1 << 20;
      e.reads = 512;
      e.chunk_touches = 1024;
      e.max_chunks_per_read = 2;
      (void)io::decide(e, r);
      e.chunk.clear();
      e.chunk_bytes = 0;
      (void)io::decide(e, r);
    } else {
      io::IoStoreFile f = io::parse_store(text);
      const io::IoStoreFile g = io::parse_store(io::serialize_store(f));  // an escape is a finding
      if (g.decisions.size() != f.decisions.size() || g.app_key != f.app_key) __builtin_trap();
      for (size_t i = 0; i < f.decisions.size(); i++) {
        if (g.decisions[i].decision.dataset != f.decisions[i].decision.dataset ||
            g.decisions[i].decision.nbytes != f.decisions[i].decision.nbytes ||
            g.decisions[i].status != f.decisions[i].status)
          __builtin_trap();
        (void)f.decisions[i].speedup();
      }
    }
  } catch (const io::IoRulesError&) {
    return 0;
  }
  return 0;
}
