#include "framehive/shared/secret.hpp"

#include "framehive/shared/cli.hpp"
#include "framehive/shared/logging.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fh::shared {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

/// Closes a descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

void check_secret(const std::string& secret, const std::string& where) {
  if (secret.empty()) throw UsageError(where + ": the secret is empty");
  if (secret.size() > k_max_secret_bytes) {
    throw UsageError(where + ": the secret is longer than " + std::to_string(k_max_secret_bytes) +
                     " bytes");
  }
  if (secret.size() < k_min_recommended_secret_bytes) {
    logger("app")->warn(
        "{}: the secret has only {} characters; use at least {} random ones (e.g. the output "
        "of 'openssl rand -hex 32')",
        where, secret.size(), k_min_recommended_secret_bytes);
  }
}

}  // namespace

std::string read_secret_file(const std::string& path, const std::string& flag) {
  const std::string where = flag + " " + path;
  if (path.empty()) throw UsageError(flag + ": empty file name");
  FdGuard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw UsageError(where + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw UsageError(where + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError(where + ": not a regular file");
  if (st.st_uid != ::geteuid()) {
    throw UsageError(where + ": refusing a secret file owned by uid " + std::to_string(st.st_uid) +
                     ", not by this user (uid " + std::to_string(::geteuid()) +
                     "): another user could replace it; run 'chown " + std::to_string(::geteuid()) +
                     " " + path + "'");
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw UsageError(where + ": refusing a secret readable by group or others (mode " + mode +
                     "); run 'chmod 600 " + path + "'");
  }
  // The first line only; more than the longest secret is not read.
  std::string text;
  char buf[k_max_secret_bytes + 2];
  for (;;) {
    const ssize_t r = ::read(f.fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw UsageError(where + ": " + std::strerror(errno));
    text.append(buf, static_cast<std::size_t>(r));
    if (r == 0 || text.find('\n') != std::string::npos || text.size() > k_max_secret_bytes + 1) {
      break;
    }
  }
  const std::string secret = trim(text.substr(0, text.find('\n')));
  check_secret(secret, where);
  return secret;
}

namespace {

/// Takes env_var out of the environment: its value is copied into out (when out is not null),
/// its bytes overwritten where they are (the original environment block, which
/// /proc/PID/environ shows, unless something setenv'd it since), then it is unset.
bool take_env(const char* env_var, std::string* out) {
  if (env_var == nullptr) return false;
  char* value = std::getenv(env_var);
  if (value == nullptr) return false;
  if (out != nullptr) *out = value;
  ::explicit_bzero(value, std::strlen(value));
  ::unsetenv(env_var);
  return true;
}

}  // namespace

std::optional<std::string> load_secret(const boost::program_options::variables_map& vm,
                                       const std::string& file_flag, const char* env_var) {
  std::string env;
  const bool from_env = take_env(env_var, &env);
  if (vm.count(file_flag)) {
    ::explicit_bzero(env.data(), env.size());
    return read_secret_file(vm[file_flag].as<std::string>(), "--" + file_flag);
  }
  if (!from_env) return std::nullopt;
  const std::string secret = trim(env);
  ::explicit_bzero(env.data(), env.size());
  check_secret(secret, env_var);
  return secret;
}

void check_endpoint_url(const std::string& url, const std::string& flag) {
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    throw UsageError(flag + ": '" + redact_url(url) +
                     "' is not an http:// or https:// URL (e.g. http://HOST:8000/RPC2)");
  }
  const auto authority_end = url.find_first_of("/?#", scheme_end + 3);
  const std::string authority = url.substr(scheme_end + 3, authority_end == std::string::npos
                                                               ? std::string::npos
                                                               : authority_end - scheme_end - 3);
  if (authority.find('@') != std::string::npos) {
    throw UsageError(flag + ": '" + redact_url(url) +
                     "' carries credentials; they would show in ps and in logs. Put the secret "
                     "in a file given with --auth-file (docs/operations.md, Security)");
  }
  if (authority.empty()) throw UsageError(flag + ": '" + url + "' has no host");
}

std::string redact_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", start);
  const auto at =
      url.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

}  // namespace fh::shared
