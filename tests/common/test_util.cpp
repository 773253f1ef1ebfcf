// Implementation of test_util.hpp (library fh_testutil).
#include "test_util.hpp"

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/rpc_client.hpp"

#include <iterator>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace fh::test {

Child::Child(const std::string& path, const std::vector<std::string>& args,
             const std::string& log_file) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (!log_file.empty()) {
      int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
}

Child::~Child() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
  }
}

void Child::signal(int sig) {
  if (status_ == -1000) ::kill(pid_, sig);
}

bool Child::running() {
  if (status_ != -1000) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return false;
  }
  return true;
}

int Child::wait(std::chrono::milliseconds timeout) {
  poll_until([this] { return !running(); }, timeout);
  return status_;
}

bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::unique_ptr<Child> start_master(int port, const std::vector<std::string>& args,
                                    const std::string& log_file,
                                    std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"--port", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto master = std::make_unique<Child>(bin("framehive-master"), argv, log_file);
  shared::RpcClient c("http://127.0.0.1:" + std::to_string(port) + "/RPC2", 10000);
  const auto answers = [&] {
    try {
      c.call(shared::api::method::status, xmlrpc_c::paramList());
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (!poll_until([&] { return !master->running() || answers(); }, timeout) || !master->running()) {
    throw std::runtime_error("framehive-master on port " + std::to_string(port) +
                             " did not answer status: " + read_file(log_file));
  }
  return master;
}

std::string make_temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/fh-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

namespace {

/// The kernel's ephemeral range (ports it hands to sockets that do not bind one: a sender's or
/// client's source port). Ports below it are only ever taken by an explicit bind.
std::pair<int, int> ephemeral_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 32768, hi = 60999;
  in >> lo >> hi;
  return {lo, hi};
}

bool can_bind(int type, int port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// A port that is free now for both UDP and TCP on 127.0.0.1 and that no socket of any process
/// can get without binding it by number. Binding port 0 and closing (the old way) handed out an
/// ephemeral port: the next connect() or unbound sendto() anywhere on the machine could take
/// it before the server under test bound it. Instead the ports come from below the ephemeral
/// range, never twice in one process, starting at an offset derived from the process id so
/// that test programs running side by side walk different stretches; each is checked with a
/// bind before it is handed out.
int free_port() {
  static std::mutex mutex;
  static int next = -1;
  std::lock_guard<std::mutex> lock(mutex);
  const auto [ephemeral_lo, ephemeral_hi] = ephemeral_range();
  int lo = 10000, hi = ephemeral_lo - 1;  // [lo, hi]
  if (hi - lo < 1000) {                   // an unusual range: use the ports above it instead
    lo = ephemeral_hi + 1;
    hi = 65535;
  }
  const int span = hi - lo + 1;
  if (span <= 0) throw std::runtime_error("free_port: no ports outside the ephemeral range");
  if (next < 0) next = static_cast<int>((static_cast<unsigned>(::getpid()) * 131u) % span);
  for (int tries = 0; tries < span; ++tries) {
    const int port = lo + next;
    next = (next + 1) % span;
    if (can_bind(SOCK_DGRAM, port) && can_bind(SOCK_STREAM, port)) return port;
  }
  throw std::runtime_error("free_port: no free port below the ephemeral range");
}

}  // namespace

int free_udp_port() { return free_port(); }
int free_tcp_port() { return free_port(); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_command(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::vector<unsigned char> tiny_jpeg() {
  const std::string path = std::string(FH_SOURCE_DIR) + "/tests/fuzz/corpus/jpeg/optimized_8x8.jpg";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

std::vector<unsigned char> undecodable_jpeg() {
  const auto good = tiny_jpeg();
  std::vector<unsigned char> out(good.begin(), good.begin() + 2);
  std::size_t i = 2;
  while (i + 4 <= good.size() && good[i + 1] != 0xDA) {  // segments up to SOS
    const std::size_t next = i + 2 + (std::size_t{good[i + 2]} << 8 | good[i + 3]);
    if (good[i + 1] != 0xDB) out.insert(out.end(), good.begin() + i, good.begin() + next);
    i = next;
  }
  out.insert(out.end(), good.begin() + i, good.end());
  return out;
}

std::vector<unsigned char> padded_jpeg(std::size_t filler) {
  auto jpeg = tiny_jpeg();
  jpeg.insert(jpeg.end() - 2, filler, 0x55);
  return jpeg;
}

std::vector<unsigned char> jpeg_declaring(int width, int height) {
  auto jpeg = tiny_jpeg();
  std::size_t i = 2;
  while (i + 9 <= jpeg.size()) {  // segments up to the frame header
    const unsigned marker = jpeg[i + 1];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      jpeg[i + 5] = static_cast<unsigned char>(height >> 8);  // SOFn: length, precision, Y, X
      jpeg[i + 6] = static_cast<unsigned char>(height);
      jpeg[i + 7] = static_cast<unsigned char>(width >> 8);
      jpeg[i + 8] = static_cast<unsigned char>(width);
      return jpeg;
    }
    i += 2 + (std::size_t{jpeg[i + 2]} << 8 | jpeg[i + 3]);
  }
  throw std::runtime_error("tiny_jpeg has no frame header");
}

}  // namespace fh::test
