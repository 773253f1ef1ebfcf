#pragma once
// framehive-receiver's command line: the option table, its --help examples, and the checked
// conversion to a ReceiverConfig (bad values throw fh::shared::UsageError -> exit 2).
// Functions are thread-safe (no shared state).

#include "framehive/receiver/receiver_config.hpp"

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fh::receiver {

/// Most ports one receiver listens on.
constexpr std::size_t k_max_ports = 1024;

/// Parses "5000-5003", "5000,5002", "5000-5001,5005": ports 1..65535, no duplicates, at most
/// k_max_ports. Returns them in the order given. Throws fh::shared::UsageError.
std::vector<std::uint16_t> parse_port_list(const std::string& text);

/// Adds the receiver's options (with defaults and help) to opts.
void add_receiver_options(boost::program_options::options_description& opts);

/// Examples and notes for the end of --help.
std::string receiver_help_epilog();

/// Builds and checks the config from parsed options. Throws fh::shared::UsageError.
ReceiverConfig receiver_config_from(const boost::program_options::variables_map& vm);

}  // namespace fh::receiver
