// paracloud config commands (to be written).
#include "cli.hpp"
namespace paracloud::cli {
void add_config_commands(CLI::App&, Context&) {}
}  // namespace paracloud::cli
