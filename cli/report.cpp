// paracloud report commands (to be written).
#include "cli.hpp"
namespace paracloud::cli {
void add_report_commands(CLI::App&, Context&) {}
}  // namespace paracloud::cli
