// libFuzzer target: the tuning store's file parser (the runtime and `paracloud tune` read these
// files, from the user's and the site's store). TuneStoreError is the only acceptable failure; a
// file that parses must serialise, parse again to the same decisions, and yield a rules file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tuning/tune_store.hpp"

namespace ts = paracloud::tune;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ts::StoreFile f;
  try {
    f = ts::parse(text);
  } catch (const ts::TuneStoreError&) {
    return 0;
  }
  const std::string again = ts::serialize(f);
  const ts::StoreFile g = ts::parse(again);  // a serialised file must parse: an escape is a finding
  if (g.decisions.size() != f.decisions.size() || g.app.key() != f.app.key()) __builtin_trap();
  for (size_t i = 0; i < f.decisions.size(); i++)
    if (!g.decisions[i].same_key(f.decisions[i]) || g.decisions[i].algorithm != f.decisions[i].algorithm)
      __builtin_trap();
  (void)ts::rules_file(f.decisions);
  (void)ts::merge(f.decisions, g.decisions);
  return 0;
}
