#include "framehive/shared/logging.hpp"

#include "framehive/shared/cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace fh::shared {
namespace {

std::mutex g_mutex;  // guards g_level and logger creation
spdlog::level::level_enum g_level = spdlog::level::info;

}  // namespace

void setup_logging(const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw UsageError("unknown log level '" + level + "'");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_level = lvl;
  spdlog::set_level(lvl);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$ %v");
}

std::shared_ptr<spdlog::logger> logger(const std::string& area) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto l = spdlog::get(area);
  if (!l) {
    l = spdlog::stderr_color_mt(area);
    l->set_level(g_level);
    l->set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$ %v");
  }
  return l;
}

}  // namespace fh::shared
