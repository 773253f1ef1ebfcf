#include "scheduling_options.hpp"

#include "framehive/master/scheduler.hpp"
#include "framehive/shared/cli.hpp"

#include <algorithm>
#include <cstdlib>

namespace fh::master {
namespace {

using shared::UsageError;

/// A decimal integer in lo..hi making up all of text, or false.
bool to_int(const std::string& text, long lo, long hi, int& out) {
  if (text.empty() || text.size() > 9) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const long v = std::strtol(text.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

/// Splits "PORT=REST" of option `name`; throws for a missing '=' or a bad port.
int split_port(const std::string& name, const std::string& value, const char* form,
               std::string& rest) {
  const auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
    throw UsageError(name + " '" + value + "': expected " + form);
  }
  int port = 0;
  if (!to_int(value.substr(0, eq), 1, 65535, port)) {
    throw UsageError(name + " '" + value + "': the port must be a number in 1..65535");
  }
  rest = value.substr(eq + 1);
  return port;
}

}  // namespace

std::map<int, std::vector<std::string>> parse_detector_options(
    const std::vector<std::string>& values) {
  std::map<int, std::vector<std::string>> out;
  for (const auto& v : values) {
    std::string rest;
    const int port = split_port("--detector", v, "PORT=NAME[,NAME...]", rest);
    std::vector<std::string> chain;
    std::size_t from = 0;
    while (true) {
      const auto comma = rest.find(',', from);
      std::string name = rest.substr(from, comma == std::string::npos ? comma : comma - from);
      if (name.empty()) throw UsageError("--detector '" + v + "': an empty detector name");
      if (name.size() > 256) {
        throw UsageError("--detector '" + v + "': a detector name longer than 256 bytes");
      }
      for (unsigned char c : name) {
        if (c <= ' ' || c == 127) {
          throw UsageError("--detector '" + v + "': no spaces or control characters in a name");
        }
      }
      if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
        throw UsageError("--detector '" + v + "': " + name + " twice in the chain");
      }
      chain.push_back(std::move(name));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (chain.size() > 16) throw UsageError("--detector '" + v + "': at most 16 detectors");
    if (!out.emplace(port, std::move(chain)).second) {
      throw UsageError("--detector '" + v + "': port " + std::to_string(port) +
                       " given twice (list its fallbacks in one value: PORT=A,B)");
    }
  }
  return out;
}

std::map<int, int> parse_priority_options(const std::vector<std::string>& values) {
  std::map<int, int> out;
  for (const auto& v : values) {
    std::string rest;
    const int port = split_port("--priority", v, "PORT=WEIGHT", rest);
    int weight = 0;
    if (!to_int(rest, 1, k_max_port_weight, weight)) {
      throw UsageError("--priority '" + v + "': the weight must be an integer in 1.." +
                       std::to_string(k_max_port_weight));
    }
    if (!out.emplace(port, weight).second) {
      throw UsageError("--priority '" + v + "': port " + std::to_string(port) + " given twice");
    }
  }
  return out;
}

}  // namespace fh::master
