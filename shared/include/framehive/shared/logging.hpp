#pragma once
// Logging set-up: one named spdlog logger per area ("net", "rpc", "codec", "detect", "app"),
// all writing to stderr. setup_logging() is called once from main(); logger() is thread-safe.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace fh::shared {

/// Sets the level of every area logger. Throws UsageError on an unknown level name.
void setup_logging(const std::string& level);

/// The logger for an area, created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& area);

}  // namespace fh::shared
