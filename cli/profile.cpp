// paracloud profile commands (to be written).
#include "cli.hpp"
namespace paracloud::cli {
void add_profile_commands(CLI::App&, Context&) {}
}  // namespace paracloud::cli
