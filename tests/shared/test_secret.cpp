// Secrets from files and the environment: first line trimmed, unsafe or empty files refused,
// the file winning over the environment; and the log throttle used for repeated auth errors.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/cli.hpp"
#include "framehive/shared/log_throttle.hpp"
#include "framehive/shared/secret.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace fh::shared;
namespace po = boost::program_options;

namespace {

/// A temporary directory removed at the end of the test.
struct Dir {
  std::string path = fh::test::make_temp_dir("secret");
  ~Dir() { std::filesystem::remove_all(path); }
  /// Writes text to name with the given mode; returns the path.
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const std::string p = path + "/" + name;
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    ::chmod(p.c_str(), mode);  // whatever the umask
    return p;
  }
};

po::variables_map vm_with(const std::string& flag, const std::string& value) {
  po::variables_map vm;
  vm.insert({flag, po::variable_value(value, false)});
  return vm;
}

/// Sets (or unsets) an environment variable for the scope.
struct EnvVar {
  std::string name;
  EnvVar(std::string n, const char* value) : name(std::move(n)) {
    if (value) {
      ::setenv(name.c_str(), value, 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

std::string usage_error_of(const std::string& path) {
  try {
    read_secret_file(path, "--auth-file");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "NO ERROR";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secret)

BOOST_AUTO_TEST_CASE(the_first_line_trimmed_is_the_secret) {
  Dir d;
  BOOST_TEST(read_secret_file(d.file("a", "  s3cret-with spaces inside \t\r\nsecond line\n"),
                              "--auth-file") == "s3cret-with spaces inside");
  BOOST_TEST(read_secret_file(d.file("b", "no-newline-at-end"), "--auth-file") ==
             "no-newline-at-end");
  BOOST_TEST(read_secret_file(d.file("c", "0123456789abcdef", 0400), "--key-file") ==
             "0123456789abcdef");
}

BOOST_AUTO_TEST_CASE(unsafe_empty_missing_or_huge_files_are_refused) {
  Dir d;
  const auto group = usage_error_of(d.file("group", "secret-secret-secret", 0640));
  BOOST_TEST(group.find("readable by group or others") != std::string::npos, group);
  BOOST_TEST(group.find("chmod 600") != std::string::npos, group);
  const auto others = usage_error_of(d.file("others", "secret-secret-secret", 0604));
  BOOST_TEST(others.find("readable by group or others") != std::string::npos, others);
  const auto empty = usage_error_of(d.file("empty", ""));
  BOOST_TEST(empty.find("empty") != std::string::npos, empty);
  const auto blank = usage_error_of(d.file("blank", "   \n real secret on line two\n"));
  BOOST_TEST(blank.find("empty") != std::string::npos, blank);
  const auto missing = usage_error_of(d.path + "/nope");
  BOOST_TEST(missing.find("cannot open") != std::string::npos, missing);
  const auto dir = usage_error_of(d.path);
  BOOST_TEST(dir.find("not a regular file") != std::string::npos, dir);
  const auto huge = usage_error_of(d.file("huge", std::string(5000, 'x')));
  BOOST_TEST(huge.find("longer than") != std::string::npos, huge);
}

BOOST_AUTO_TEST_CASE(the_file_wins_over_the_environment_which_wins_over_nothing) {
  Dir d;
  const auto path = d.file("s", "from-the-file-0123456789\n");
  {
    EnvVar env(k_auth_secret_env, "  from-the-environment-0123  ");
    BOOST_TEST(*load_secret(vm_with("auth-file", path), "auth-file", k_auth_secret_env) ==
               "from-the-file-0123456789");
    BOOST_TEST(std::getenv(k_auth_secret_env) == nullptr);  // erased even when the file wins
  }
  {
    EnvVar env(k_auth_secret_env, "  from-the-environment-0123  ");
    BOOST_TEST(*load_secret(po::variables_map(), "auth-file", k_auth_secret_env) ==
               "from-the-environment-0123");
    BOOST_TEST(std::getenv(k_auth_secret_env) == nullptr);  // read once, then gone
  }
  {
    EnvVar env(k_auth_secret_env, nullptr);
    BOOST_TEST(!load_secret(po::variables_map(), "auth-file", k_auth_secret_env).has_value());
  }
  {
    EnvVar env(k_datagram_key_env, " \t ");
    BOOST_CHECK_THROW(load_secret(po::variables_map(), "key-file", k_datagram_key_env), UsageError);
  }
}

BOOST_AUTO_TEST_CASE(a_secret_file_owned_by_another_user_is_refused) {
  if (::geteuid() != 0) {
    // Only root can give a file away; as another user the check runs in CI (root).
    BOOST_TEST_MESSAGE("not root: cannot make a file owned by another user here");
    return;
  }
  Dir d;
  const auto path = d.file("theirs", "secret-secret-secret");
  BOOST_REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);  // nobody
  const auto e = usage_error_of(path);
  BOOST_TEST(e.find("owned by uid 65534, not by this user (uid 0)") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(endpoint_urls_carry_no_credentials) {
  BOOST_CHECK_NO_THROW(check_endpoint_url("http://10.0.0.5:8000/RPC2", "--master"));
  BOOST_CHECK_NO_THROW(check_endpoint_url("https://master.example:8443/RPC2", "--master"));
  BOOST_CHECK_NO_THROW(check_endpoint_url("http://h:1/RPC2?next=a@b", "--master"));
  try {
    check_endpoint_url("http://framehive:hunter2-secret@10.0.0.5:8000/RPC2", "--master");
    BOOST_FAIL("no error");
  } catch (const UsageError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("hunter2") == std::string::npos, m);  // the error does not repeat it
    BOOST_TEST(m.find("--auth-file") != std::string::npos, m);
    BOOST_TEST(m.find("http://***@10.0.0.5:8000/RPC2") != std::string::npos, m);
  }
  BOOST_CHECK_THROW(check_endpoint_url("ftp://h/RPC2", "--master"), UsageError);
  BOOST_CHECK_THROW(check_endpoint_url("file:///etc/passwd", "--master"), UsageError);
  BOOST_CHECK_THROW(check_endpoint_url("10.0.0.5:8000", "--master"), UsageError);
  BOOST_TEST(redact_url("https://u:p@h:1/x@y") == "https://***@h:1/x@y");
  BOOST_TEST(redact_url("http://h:1/RPC2") == "http://h:1/RPC2");
}

BOOST_AUTO_TEST_CASE(log_throttle_lets_one_line_through_per_interval) {
  LogThrottle t(std::chrono::milliseconds(200));
  BOOST_TEST(t.due());
  BOOST_TEST(!t.due());
  BOOST_TEST(!t.due());
  BOOST_TEST(t.calls() == 3u);
  BOOST_TEST(fh::test::poll_until([&] { return t.due(); }, std::chrono::milliseconds(5000)));
  BOOST_TEST(!t.due());
}

BOOST_AUTO_TEST_SUITE_END()
