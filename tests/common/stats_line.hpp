#pragma once
// Parsing of the "<name>-stats key=value ..." lines the framehive binaries print (sender-stats,
// receiver-stats, worker-stats), for tests that read a process's log.

#include <cstdint>
#include <map>
#include <string>

namespace fh::test {

/// The key=value fields of one stats line.
using StatsFields = std::map<std::string, std::string>;  // = fh::shared::StatsFields

/// The fields of the last line of text with "<prefix> " (e.g. "receiver-stats") at its start
/// or after a space (a log prefix), and, when port > 0, with port=<port>. Empty when there is
/// no such line.
StatsFields stats_line(const std::string& text, const std::string& prefix, int port = 0);

/// A numeric field; throws std::runtime_error naming the key when it is absent, so that a
/// renamed key fails loudly.
std::int64_t stats_num(const StatsFields& fields, const std::string& key);
/// The same for a counter (never negative: throws when it is), unsigned for comparisons with
/// sizes and unsigned literals.
std::uint64_t stats_count(const StatsFields& fields, const std::string& key);

}  // namespace fh::test
