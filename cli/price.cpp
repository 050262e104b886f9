// paracloud price commands (to be written).
#include "cli.hpp"
namespace paracloud::cli {
void add_price_commands(CLI::App&, Context&) {}
}  // namespace paracloud::cli
