#pragma once
// Helpers shared by the reliability tests (tests/integration/test_reliability_*.cpp): the
// stats lines of the binaries, a master process on a free port, a receiver dumping frames,
// reference JPEGs from a loss-free run, raw HTTP connections and /proc figures. Test-only,
// single-threaded unless a helper says otherwise.

#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "test_util.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fh::reltest {

using namespace std::chrono_literals;
using KV = std::map<std::string, std::string>;
using Struct = std::map<std::string, xmlrpc_c::value>;

/// key=value pairs of the last line starting with `prefix ` whose port= matches.
inline KV stats_line(const std::string& text, const std::string& prefix, int port) {
  KV found;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(prefix + " ");
    if (at == std::string::npos) continue;
    KV kv;
    std::istringstream toks(line.substr(at + prefix.size() + 1));
    std::string tok;
    while (toks >> tok) {
      const auto eq = tok.find('=');
      if (eq != std::string::npos) kv[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    if (kv["port"] == std::to_string(port)) found = kv;
  }
  return found;
}

/// A counter of a stats line; -1 when absent (the test then fails on the value).
inline long num(const KV& kv, const std::string& k) {
  const auto it = kv.find(k);
  return it == kv.end() ? -1 : std::stol(it->second);
}

/// VmRSS of a process in KiB (0 when it is gone).
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

/// Whether a UDP port is bound on this machine (so a sender can start without losing frames).
inline bool udp_bound(int port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  char hex[8];
  std::snprintf(hex, sizeof hex, ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local;
    f >> sl >> local;
    if (local.size() > 5 && local.substr(local.size() - 5) == hex) return true;
  }
  return false;
}

/// {frame_seq: bytes} of DIR/*.jpg.
inline std::map<int, std::string> read_dump(const std::string& dir) {
  std::map<int, std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".jpg") {
        out[std::stoi(name)] = fh::test::read_file(dir + "/" + name);
      }
    }
    ::closedir(d);
  }
  return out;
}

inline std::size_t count_dump(const std::string& dir) { return read_dump(dir).size(); }

/// The exact JPEGs framehive-sender sends for frames 0..frames-1 of `source` at `quality`
/// (its encoder is deterministic): a loss-free run on 127.0.0.1 into a dumping receiver.
inline std::map<int, std::string> reference_frames(const std::string& dir,
                                                   const std::string& source, int frames,
                                                   int quality) {
  const int port = fh::test::free_udp_port();
  const std::string dump = dir + "/ref-q" + std::to_string(quality);
  fh::test::Child rx(fh::test::bin("framehive-receiver"),
                     {"--bind", "127.0.0.1", "--ports", std::to_string(port), "--dump", dump,
                      "--stats-interval", "0", "--log-level", "warn"},
                     dump + ".receiver.log");
  BOOST_REQUIRE(fh::test::poll_until([&] { return udp_bound(port); }, 5s));
  fh::test::Child tx(fh::test::bin("framehive-sender"),
                     {"--source", source, "--port", std::to_string(port), "--frames",
                      std::to_string(frames), "--fps", "300", "--quality", std::to_string(quality),
                      "--stats-interval", "0", "--log-level", "warn"},
                     dump + ".sender.log");
  BOOST_REQUIRE(tx.wait(60s) == 0);
  const std::string port_dir = dump + "/" + std::to_string(port);
  fh::test::poll_until([&] { return count_dump(port_dir) >= static_cast<std::size_t>(frames); },
                       10s);
  rx.signal(SIGTERM);
  BOOST_REQUIRE(rx.wait(10s) == 0);
  auto out = read_dump(port_dir);
  BOOST_REQUIRE_MESSAGE(out.size() == static_cast<std::size_t>(frames),
                        "reference run: " << out.size() << " of " << frames << " frames");
  return out;
}

inline Struct call_struct(fh::shared::RpcClient& c, const std::string& m,
                          const xmlrpc_c::paramList& p = xmlrpc_c::paramList()) {
  return static_cast<Struct>(xmlrpc_c::value_struct(c.call(m, p)));
}

inline int as_int(const xmlrpc_c::value& v) { return xmlrpc_c::value_int(v); }
inline std::string as_str(const xmlrpc_c::value& v) {
  return static_cast<std::string>(xmlrpc_c::value_string(v));
}

/// status() or an empty struct when the master does not answer.
inline Struct try_status(const std::string& url) {
  try {
    fh::shared::RpcClient c(url, 2000);
    return call_struct(c, "status");
  } catch (const std::exception&) {
    return {};
  }
}

/// The struct of one port in status()["ports"], empty if the port is not there.
inline Struct port_of(const Struct& status, int port) {
  if (!status.count("ports")) return {};
  for (const auto& v : xmlrpc_c::value_array(status.at("ports")).vectorValueValue()) {
    const Struct p = static_cast<Struct>(xmlrpc_c::value_struct(v));
    if (as_int(p.at("port")) == port) return p;
  }
  return {};
}

inline int alive_workers(const Struct& status) {
  if (!status.count("workers")) return 0;
  int n = 0;
  for (const auto& v : xmlrpc_c::value_array(status.at("workers")).vectorValueValue()) {
    const Struct w = static_cast<Struct>(xmlrpc_c::value_struct(v));
    n += xmlrpc_c::value_boolean(w.at("alive")) ? 1 : 0;
  }
  return n;
}

/// A framehive-master on a fixed port (so it can be restarted in place), started and ready.
struct Master {
  int port = fh::test::free_tcp_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/RPC2";
  std::unique_ptr<fh::test::Child> proc;

  void start(const std::string& log, std::vector<std::string> args) {
    args.insert(args.begin(),
                {"--port", std::to_string(port), "--stats-interval", "0", "--log-level", "warn"});
    proc = std::make_unique<fh::test::Child>(fh::test::bin("framehive-master"), args, log);
    BOOST_REQUIRE_MESSAGE(
        fh::test::poll_until([&] { return !try_status(url).empty() || !proc->running(); }, 15s) &&
            proc->running(),
        "the master did not start: " << fh::test::read_file(log));
  }
};

/// A raw TCP connection to 127.0.0.1:port for HTTP the client libraries refuse to send.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// What arrives until the server closes or `timeout` passes without data.
  std::string read_some(std::chrono::milliseconds timeout) {
    std::string out;
    char buf[65536];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
      if (out.find("\r\n\r\n") != std::string::npos && complete(out)) break;
    }
    return out;
  }
  /// True when the server closed the connection within timeout.
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) closed_ = true;
    }
    return closed_;
  }
  /// Closes with a TCP reset (SO_LINGER 0): the server's next write fails with EPIPE/ECONNRESET.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  static bool complete(const std::string& r) {
    const auto head_end = r.find("\r\n\r\n");
    std::string head = r.substr(0, head_end);
    for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto cl = head.find("content-length:");  // Abyss writes "Content-length"
    if (cl == std::string::npos) return true;
    return r.size() >= head_end + 4 + std::stoul(head.substr(cl + 15));
  }
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

inline std::string http_post(const std::string& body,
                             std::size_t content_length = std::string::npos) {
  const std::size_t n = content_length == std::string::npos ? body.size() : content_length;
  return "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: " +
         std::to_string(n) + "\r\n\r\n" + body;
}

inline std::string call_xml(const std::string& method, const std::string& params = "") {
  return "<?xml version=\"1.0\"?><methodCall><methodName>" + method + "</methodName><params>" +
         params + "</params></methodCall>";
}

/// HTTP status code of a response, 0 when there is none.
inline int http_status(const std::string& r) {
  if (r.rfind("HTTP/1.", 0) != 0 || r.size() < 12) return 0;
  return std::atoi(r.c_str() + 9);
}

}  // namespace fh::reltest
