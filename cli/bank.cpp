// paracloud bank commands (to be written).
#include "cli.hpp"
namespace paracloud::cli {
void add_bank_commands(CLI::App&, Context&) {}
}  // namespace paracloud::cli
