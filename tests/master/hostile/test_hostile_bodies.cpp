// Hostile XML-RPC bodies at the master's request size limit (64 MiB, RpcServerConfig's
// max_request_bytes) through the path a request takes in the master: RpcDispatcher::handle
// (parse_call with the default ParseLimits, then the method table over a Scheduler). Each must
// be answered within 1 s of CPU time and a peak memory under 3x the body size (the body
// itself included), and with the expected reply. Hostile replies go through parse_response
// with its defaults (the clients' path): a reply's memory is bounded by max_values, not by
// its size (an empty value is 8 bytes of XML and ~230 bytes of xmlrpc-c value), and its CPU
// by 2 s. Prints a table of the figures.
//
// A program of its own: each case runs in a forked child, so the child's peak resident size
// (VmHWM, reset through /proc/self/clear_refs once the body is built) is that case's alone;
// the figure is the body's size plus that peak's growth while the body is handled. Under
// ASan (FH_SANITIZED) the CPU bound does not hold and is not checked; the memory bound is
// (wider: see kMemoryFactor), and so is every reply. Not built under TSan (tests/CMakeLists.txt).
#define BOOST_TEST_MODULE hostile_bodies
#include <boost/test/unit_test.hpp>

#include "framehive/master/rpc_server.hpp"
#include "framehive/master/scheduler.hpp"
#include "framehive/shared/api/names.hpp"
#include "framehive/shared/api/xmlrpc.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "rpc_dispatcher.hpp"
#include "rpc_methods.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>

namespace {

namespace codec = fh::shared::xmlrpc;
namespace api = fh::shared::api;

#ifdef FH_SANITIZED
constexpr bool kSanitized = true;
/// ASan: a shadow byte per 8 and a redzone and a header per allocation (its quarantine of
/// freed memory is held at 16 MB for this test: tests/CMakeLists.txt).
constexpr double kMemoryFactor = 5.0;
#else
constexpr bool kSanitized = false;
constexpr double kMemoryFactor = 3.0;
#endif

/// What a case may cost.
struct Bounds {
  double cpu_ms;    ///< thread CPU time (not checked under sanitizers)
  double peak_mib;  ///< VmHWM growth, the body included
};
/// A request to the master: 1 s, 3x the body.
Bounds request_bounds(std::size_t body) {
  return {1000.0, kMemoryFactor * static_cast<double>(body) / (1 << 20)};
}
/// A reply to a client: 2 s, 3x the body plus max_values values of 256 bytes.
Bounds reply_bounds(std::size_t body) {
  return {2000.0, kMemoryFactor * static_cast<double>(body) / (1 << 20) +
                      256.0 * static_cast<double>(codec::kResponseLimits.max_values) / (1 << 20)};
}

/// The master's default request size limit.
const std::size_t kBodyLimit = fh::master::RpcServerConfig{}.max_request_bytes;

/// What a child measured, sent back through a pipe.
struct Figures {
  double cpu_ms = 0;           ///< thread CPU time of handle() / parse_response()
  double peak_mib = 0;         ///< the body plus VmHWM's growth while it was handled
  std::size_t body_bytes = 0;  ///< size of the body
  std::size_t units = 0;       ///< the repeated unit's count (members, calls, items, ...)
  int fault_code = 0;          ///< the reply's faultCode, 0 when it is a value
  char message[240] = {};      ///< the reply's faultString (or "value"), cut
};

/// A /proc/self/status field in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::atol(line.c_str() + n + 1);
    }
  }
  return -1;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

/// A body: head, then unit(i) for i = 0, 1, ... while it fits in `limit` bytes with tail.
struct Body {
  std::string xml;
  std::size_t units = 0;
};
Body fill(const std::string& head, const std::function<std::string(std::size_t)>& unit,
          const std::string& tail, std::size_t limit = kBodyLimit, std::size_t max_units = -1) {
  Body b;
  b.xml.reserve(limit);
  b.xml = head;
  for (; b.units < max_units; ++b.units) {
    const std::string u = unit(b.units);
    if (b.xml.size() + u.size() + tail.size() > limit) break;
    b.xml += u;
  }
  b.xml += tail;
  return b;
}

std::string call_head(const std::string& method) {
  return "<?xml version=\"1.0\"?>\n<methodCall><methodName>" + method +
         "</methodName><params><param>";
}
const std::string kCallTail = "</param></params></methodCall>";
const std::string kResponseHead = "<?xml version=\"1.0\"?>\n<methodResponse><params><param>";
const std::string kResponseTail = "</param></params></methodResponse>";

/// Runs make_body and then handle in a child; returns the child's figures.
Figures measure(const std::function<Body()>& make_body,
                const std::function<codec::ParsedResponse(const std::string&)>& handle) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  std::cout.flush();  // nothing buffered for the child to print again
  std::fflush(stdout);
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {  // the child: no Boost.Test in here, and it never returns
    ::close(fds[0]);
    try {
      Figures f;
      Body body = make_body();
      f.body_bytes = body.xml.size();
      f.units = body.units;
      const long rss0 = status_kib("VmRSS");
      {
        std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS
      }
      const double t0 = thread_cpu_ms();
      const codec::ParsedResponse r = handle(body.xml);
      f.cpu_ms = thread_cpu_ms() - t0;
      f.peak_mib = static_cast<double>(status_kib("VmHWM") - rss0) / 1024.0 +
                   static_cast<double>(f.body_bytes) / (1 << 20);
      f.fault_code = r.is_fault ? r.fault_code : 0;
      std::snprintf(f.message, sizeof f.message, "%s",
                    r.is_fault ? r.fault_string.c_str() : "value");
      const bool sent = ::write(fds[1], &f, sizeof f) == static_cast<ssize_t>(sizeof f);
      ::_exit(sent ? 0 : 1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      ::_exit(2);
    }
  }
  ::close(fds[1]);
  Figures f;
  const ssize_t got = ::read(fds[0], &f, sizeof f);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(
      got == static_cast<ssize_t>(sizeof f) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
      "the child failed (status " << status << ")");
  return f;
}

/// The master's request path: the dispatcher over the real method table, in the child.
codec::ParsedResponse master_handles(const std::string& body) {
  fh::shared::setup_logging("off");
  fh::master::Scheduler scheduler(fh::master::SchedulerConfig{},
                                  fh::shared::SystemClock::instance(), nullptr, "hostile");
  const fh::master::rpc::RpcDispatcher dispatcher(
      fh::master::rpc::make_methods(scheduler, nullptr, fh::master::RpcServerConfig{}));
  return codec::parse_response(dispatcher.handle(body));
}

/// The clients' path: a reply through parse_response (a LimitError as fault limit_exceeded).
codec::ParsedResponse client_parses(const std::string& body) {
  try {
    return codec::parse_response(body);
  } catch (const codec::CodecError& e) {
    codec::ParsedResponse r;
    r.is_fault = true;
    r.fault_code =
        dynamic_cast<const codec::LimitError*>(&e) ? api::fault::limit_exceeded : api::fault::parse;
    r.fault_string = e.what();
    return r;
  }
}

void print_header() {
  static bool printed = false;
  if (printed) return;
  printed = true;
  std::printf("\n| case | body bytes | repeats | CPU ms | peak MiB | peak / body | reply |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---|\n");
}

/// Measures, prints a row, checks the bounds and the reply (its code, a piece of its message).
void check_case(const char* name, const std::function<Body()>& make_body,
                const std::function<codec::ParsedResponse(const std::string&)>& handle,
                Bounds (*bounds_of)(std::size_t), int want_code, const char* want_message) {
  const Figures f = measure(make_body, handle);
  const Bounds bounds = bounds_of(f.body_bytes);
  const double body_mib = static_cast<double>(f.body_bytes) / (1 << 20);
  // The table shows a limit's message from its position on, without the excerpt.
  std::string shown = f.message;
  if (const auto at = shown.find("limit exceeded at "); at != std::string::npos) {
    shown = shown.substr(at + std::strlen("limit exceeded at "));
  }
  if (const auto near = shown.find(" (near '"); near != std::string::npos) shown.resize(near);
  const std::string reply = f.fault_code ? std::to_string(f.fault_code) + ": " + shown : shown;
  print_header();
  std::printf("| %s | %zu | %zu | %.0f | %.0f | %.2f | %s |\n", name, f.body_bytes, f.units,
              f.cpu_ms, f.peak_mib, f.peak_mib / body_mib, reply.c_str());
  std::fflush(stdout);
  BOOST_TEST_CONTEXT(name) {
    BOOST_TEST(f.body_bytes <= kBodyLimit);
    BOOST_TEST(f.body_bytes > kBodyLimit - (1 << 20));  // at the limit, not far under it
    BOOST_TEST(f.peak_mib < bounds.peak_mib);
    if (!kSanitized) BOOST_TEST(f.cpu_ms < bounds.cpu_ms);
    BOOST_TEST(f.fault_code == want_code);
    BOOST_TEST(std::string(f.message).find(want_message) != std::string::npos, f.message);
  }
}

std::string member(std::size_t i, const std::string& value) {
  return "<member><name>m" + std::to_string(i) + "</name><value>" + value + "</value></member>";
}

}  // namespace

BOOST_AUTO_TEST_CASE(add_task_with_a_struct_of_a_million_members) {
  check_case(
      "add_task: one struct, >1M members",
      [] {
        return fill(
            call_head(api::method::add_task) + "<value><struct>",
            [](std::size_t i) { return member(i, "<i4>1</i4>"); }, "</struct></value>" + kCallTail);
      },
      master_handles, request_bounds, api::fault::limit_exceeded, "(max_struct_members)");
}

BOOST_AUTO_TEST_CASE(multicall_of_100k_calls) {
  check_case(
      "system.multicall: >100k calls",
      [] {
        return fill(
            call_head(api::method::multicall) + "<value><array><data>",
            [](std::size_t) {
              return std::string(
                  "<value><struct><member><name>methodName</name><value>status</value>"
                  "</member><member><name>params</name><value><array><data/></array>"
                  "</value></member></struct></value>");
            },
            "</data></array></value>" + kCallTail);
      },
      master_handles, request_bounds, api::fault::limit_exceeded, "(max_values)");
}

BOOST_AUTO_TEST_CASE(huge_flat_array) {
  check_case(
      "add_tasks: one flat array",
      [] {
        return fill(
            call_head(api::method::add_tasks) + "<value><array><data>",
            [](std::size_t) { return std::string("<value><i4>0</i4></value>"); },
            "</data></array></value>" + kCallTail);
      },
      master_handles, request_bounds, api::fault::limit_exceeded, "(max_array_items)");
}

BOOST_AUTO_TEST_CASE(many_tiny_values) {
  // Arrays of 1,000 empty values each: under max_array_items, so max_values is what stops it.
  std::string thousand = "<value><array><data>";
  for (int i = 0; i < 1000; ++i) thousand += "<value/>";
  thousand += "</data></array></value>";
  check_case(
      "add_tasks: arrays of 1,000 empty values",
      [&] {
        return fill(
            call_head(api::method::add_tasks) + "<value><array><data>",
            [&](std::size_t) { return thousand; }, "</data></array></value>" + kCallTail);
      },
      master_handles, request_bounds, api::fault::limit_exceeded, "(max_values)");
}

BOOST_AUTO_TEST_CASE(deep_but_allowed_nesting) {
  // Chains of 62 nested arrays (the deepest value at depth 64, the limit) ending in a 16 KiB
  // string: the whole body parses (about 220,000 values), then add_task refuses the array.
  std::string chain;
  for (int i = 0; i < 62; ++i) chain += "<value><array><data>";
  chain += "<value><string>" + std::string(16384, 'x') + "</string></value>";
  for (int i = 0; i < 62; ++i) chain += "</data></array></value>";
  check_case(
      "add_task: depth-64 chains of arrays, 16 KiB strings",
      [&] {
        return fill(
            call_head(api::method::add_task) + "<value><array><data>",
            [&](std::size_t) { return chain; }, "</data></array></value>" + kCallTail);
      },
      master_handles, request_bounds, api::fault::type, "frame: expected struct");
}

BOOST_AUTO_TEST_CASE(structs_at_the_member_limit) {
  // The quadratic case within the limits: structs of exactly max_struct_members members, as
  // many as max_values allows, their values padded to fill the body; all of it parses.
  const std::size_t members = codec::kCallLimits.max_struct_members;
  const std::size_t structs = codec::kCallLimits.max_values / (2 * members + 1) - 1;
  const std::size_t pad = kBodyLimit / (structs * members) - 40;
  std::string one = "<value><struct>";
  for (std::size_t i = 0; i < members; ++i) {
    one += member(i, "<string>" + std::string(pad - 20, 'p') + "</string>");
  }
  one += "</struct></value>";
  check_case(
      "add_tasks: structs of 1,000 members",
      [&] {
        return fill(
            call_head(api::method::add_tasks) + "<value><array><data>",
            [&](std::size_t) { return one; }, "</data></array></value>" + kCallTail, kBodyLimit,
            structs);
      },
      master_handles, request_bounds, api::fault::type, "frames[0]: missing field");
}

BOOST_AUTO_TEST_CASE(one_huge_image) {
  check_case(
      "add_task: a 48 MiB image",
      [] {
        Body b;
        b.xml = call_head(api::method::add_task) +
                "<value><struct><member><name>port</name><value><i4>5000</i4></value></member>"
                "<member><name>frame_id</name><value><i4>1</i4></value></member>"
                "<member><name>captured_at</name><value><double>1.5</double></value></member>"
                "<member><name>image</name><value><base64>";
        const std::string tail = "</base64></value></member></struct></value>" + kCallTail;
        const std::size_t n = (kBodyLimit - b.xml.size() - tail.size()) / 4 * 4;
        b.xml.reserve(b.xml.size() + n + tail.size());
        b.xml.append(n, 'A');
        b.xml += tail;
        b.units = 1;
        return b;
      },
      master_handles, request_bounds, api::fault::type, "over the limit of");
}

BOOST_AUTO_TEST_CASE(reply_with_a_struct_of_a_million_members) {
  check_case(
      "reply: one struct, >1M members",
      [] {
        return fill(
            kResponseHead + "<value><struct>",
            [](std::size_t i) { return member(i, "<i4>1</i4>"); },
            "</struct></value>" + kResponseTail);
      },
      client_parses, reply_bounds, api::fault::limit_exceeded, "(max_struct_members)");
}

BOOST_AUTO_TEST_CASE(reply_of_structs_at_the_member_limit) {
  // The quadratic case of a reply: structs of max_struct_members members, filling the body,
  // all within the limits (3.2 million values).
  const std::size_t members = codec::kResponseLimits.max_struct_members;
  std::string one = "<value><struct>";
  for (std::size_t i = 0; i < members; ++i) one += member(i, "");
  one += "</struct></value>";
  check_case(
      "reply: structs of max members",
      [&] {
        return fill(
            kResponseHead + "<value><array><data>", [&](std::size_t) { return one; },
            "</data></array></value>" + kResponseTail);
      },
      client_parses, reply_bounds, 0, "value");
}
