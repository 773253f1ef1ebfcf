#pragma once
// Helpers shared by the reliability tests (tests/integration/test_reliability_*.cpp): the
// stats lines of the binaries, a master process on a free port, a receiver dumping frames,
// reference JPEGs from a loss-free run, raw HTTP connections and /proc figures. Test-only,
// single-threaded unless a helper says otherwise.

#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "stats_line.hpp"
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
using KV = fh::test::StatsFields;
using Struct = std::map<std::string, xmlrpc_c::value>;

using fh::test::stats_line;
/// A counter of a stats line (throws when absent).
inline long num(const KV& kv, const std::string& k) { return fh::test::stats_num(kv, k); }

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
                      "--stats-interval", "0", "--log-level", "warn", "--motion", "off"},
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

}  // namespace fh::reltest
