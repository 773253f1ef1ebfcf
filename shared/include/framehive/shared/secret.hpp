#pragma once
// Shared secrets (the XML-RPC password, the datagram key) read from a protected file or an
// environment variable, never from the command line (it shows in ps). Functions without
// shared state; call from main() (they log through the "app" logger).

#include <boost/program_options/variables_map.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace fh::shared {

/// Longest accepted secret, bytes.
constexpr std::size_t k_max_secret_bytes = 1024;
/// Shorter secrets work but get a warning.
constexpr std::size_t k_min_recommended_secret_bytes = 16;

/// The first line of the file at path, whitespace trimmed. Throws UsageError naming flag when
/// the file cannot be read, is not owned by the user this process runs as (chown fixes it),
/// is readable by group or others (chmod 600 fixes it), or the secret is empty or longer than
/// k_max_secret_bytes.
std::string read_secret_file(const std::string& path, const std::string& flag);

/// The secret from --<file_flag> (command line or FRAMEHIVE_<FILE_FLAG>) if given, else from
/// the environment variable env_var (trimmed; null: none), else std::nullopt. The file wins when
/// both are set. Either way env_var is then erased: its bytes in the process's original environment
/// block are overwritten (so /proc/PID/environ no longer shows the secret) and the variable is
/// unset (child processes do not inherit it). Throws UsageError as read_secret_file, or when
/// env_var is set but empty. Warns when the secret is shorter than k_min_recommended_secret_bytes.
std::optional<std::string> load_secret(const boost::program_options::variables_map& vm,
                                       const std::string& file_flag, const char* env_var);

/// Checks the URL of a master endpoint given with flag: http:// or https://, and no
/// credentials in it (user:password@ would show in ps and in logs; the secret goes in
/// --auth-file). Throws UsageError naming flag, without repeating the credentials.
void check_endpoint_url(const std::string& url, const std::string& flag);

/// url with any user:password@ part replaced by "***@", for logs and error messages.
std::string redact_url(const std::string& url);

/// The environment variables of the two secrets.
constexpr const char* k_auth_secret_env = "FRAMEHIVE_AUTH_SECRET";
constexpr const char* k_datagram_key_env = "FRAMEHIVE_DATAGRAM_KEY";

}  // namespace fh::shared
