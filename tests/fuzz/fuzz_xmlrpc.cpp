// Fuzz target: the master's XML-RPC codec (codec::parse_call) and the method table's conversions
// of values into frames and results (shared/api/xmlrpc.hpp: frame_from, result_from, ...).
//
// Input: one request body, as a client would POST it (tests/fuzz/corpus/xmlrpc/ holds calls as
// Python's xmlrpc.client sends them). FH_FUZZ_DEBUG=1 in the environment prints each response.
//
// Checked:
//  - parse_call throws only CodecError, and gives the same result with the AVX2 base64 kernels
//    and with the scalar code;
//  - a parsed call serialises (serialize_call) and parses back to the same document;
//  - through an RpcDispatcher (the native server's path: parse, dispatch, serialise) with a
//    table that mirrors the conversions of add_task, add_tasks, complete_task, register_worker,
//    fail_task, request_task and get_summary: every request gets a well-formed response, and
//    conversions fail only with a type fault (never an internal error);
//  - a converted frame or result satisfies the documented limits, and survives the way back
//    (to_value, serialize_response, parse_response, task_from / result_from);
//  - request limits (DispatchLimits), small here so that fuzz inputs reach them: the parse
//    under kSmallLimits either matches the parse under the defaults or throws LimitError; a
//    second dispatcher with those limits and a multicall limit of 4 gives the very response
//    of the first or fault -509 whose message names the limit ("(max_...)").
#include "fuzz_util.hpp"

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/api/xmlrpc.hpp"
#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"
#include "rpc_dispatcher.hpp"
#include "rpc_methods.hpp"

#include <xmlrpc-c/base.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace rpc = fh::master::rpc;
namespace api = fh::shared::api;
namespace codec = fh::shared::xmlrpc;
using fh::master::Frame;
using fh::master::Result;
using xmlrpc_c::paramList;
using xmlrpc_c::value;

constexpr std::size_t k_max_image = 64u << 10;  // small, so the limit is reachable
constexpr std::size_t k_max_batch = 1000;
/// Request limits fuzz inputs reach (the defaults need bodies of megabytes).
constexpr codec::ParseLimits kSmallLimits{48, 6, 10, 8};
constexpr std::size_t kSmallMulticall = 4;
const api::Limits k_limits{k_max_image, 10000, 256};

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_frame(const Frame& f) {
  FH_FUZZ_CHECK(f.port >= 1 && f.port <= 65535);
  FH_FUZZ_CHECK(f.width >= 0 && f.width <= (1 << 16) && f.height >= 0 && f.height <= (1 << 16));
  FH_FUZZ_CHECK(std::isfinite(f.captured_at) && std::isfinite(f.received_at));
  FH_FUZZ_CHECK(f.stream.size() <= 256 && f.detector.size() <= 256);
  FH_FUZZ_CHECK(f.image && f.image->size() <= k_max_image);
  FH_FUZZ_CHECK(fh::shared::looks_like_jpeg(f.image->data(), f.image->size()));
}

bool same_frame(const Frame& a, const Frame& b) {
  return a.port == b.port && a.stream == b.stream && a.frame_id == b.frame_id &&
         same_double(a.captured_at, b.captured_at) && same_double(a.received_at, b.received_at) &&
         a.width == b.width && a.height == b.height && a.detector == b.detector && a.image &&
         b.image && *a.image == *b.image;
}

void check_result(const Result& r) {
  FH_FUZZ_CHECK(std::isfinite(r.processing_ms));
  FH_FUZZ_CHECK(r.detections.size() <= 10000);
  for (const auto& d : r.detections) {
    FH_FUZZ_CHECK(d.label.size() <= 256 && std::isfinite(d.confidence));
    FH_FUZZ_CHECK(d.w >= 0 && d.h >= 0 && d.w <= (1 << 20) && d.h <= (1 << 20));
    FH_FUZZ_CHECK(d.x >= -(1 << 20) && d.x <= (1 << 20) && d.y >= -(1 << 20) && d.y <= (1 << 20));
  }
}

bool same_result(const Result& a, const Result& b) {
  if (!same_double(a.processing_ms, b.processing_ms) ||
      a.detections.size() != b.detections.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.detections.size(); ++i) {
    const auto& x = a.detections[i];
    const auto& y = b.detections[i];
    if (x.label != y.label || !same_double(x.confidence, y.confidence) || x.x != y.x ||
        x.y != y.y || x.w != y.w || x.h != y.h) {
      return false;
    }
  }
  return true;
}

/// The value a response carries; the response must be well-formed and not a fault.
value through_response(const value& v) {
  const codec::ParsedResponse r = codec::parse_response(codec::serialize_response(v));
  FH_FUZZ_CHECK(!r.is_fault);
  return r.value;
}

/// A converted frame goes back out as a task (request_task's reply) and converts again.
value frame_way_back(const Frame& f) {
  check_frame(f);
  fh::master::Task t;
  t.task_id = "fuzz-1";
  t.frame = f;
  const value out = api::to_value(t);
  FH_FUZZ_CHECK(same_frame(api::task_from(out, k_limits).frame, f));
  FH_FUZZ_CHECK(same_frame(api::task_from(through_response(out), k_limits).frame, f));
  return out;
}

value result_way_back(const Result& r) {
  check_result(r);
  fh::master::ResultRecord rec;
  rec.task_id = "fuzz-1";
  rec.detections = r.detections;
  rec.processing_ms = r.processing_ms;
  const value out = api::to_value(rec);
  FH_FUZZ_CHECK(same_result(api::result_from(out, k_limits), r));
  FH_FUZZ_CHECK(same_result(api::result_from(through_response(out), k_limits), r));
  return out;
}

void count(const paramList& p, unsigned lo, unsigned hi) {
  if (p.size() < lo || p.size() > hi) rpc::type_fault("wrong number of parameters");
}

/// The conversions of the master's method table (master/src/rpc_methods.cpp) without the
/// scheduler; each method returns what it converted, the way back checked.
std::vector<rpc::MethodDef> fuzz_methods() {
  std::vector<rpc::MethodDef> m;
  auto add = [&m](std::string name, rpc::MethodBody body) {
    m.push_back(rpc::MethodDef{std::move(name), "", "", std::move(body)});
  };
  add("add_task", [](const paramList& p) -> value {
    count(p, 1, 1);
    return frame_way_back(api::frame_from(p[0], "frame", k_limits));
  });
  add("add_tasks", [](const paramList& p) -> value {
    count(p, 1, 1);
    if (p[0].type() != value::TYPE_ARRAY) rpc::type_fault("frames: expected array");
    const auto items = xmlrpc_c::value_array(p[0]).vectorValueValue();
    if (items.size() > k_max_batch) rpc::type_fault("frames: over the limit");
    std::vector<value> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
      out.push_back(
          frame_way_back(api::frame_from(items[i], "frames[" + std::to_string(i) + "]", k_limits)));
    }
    return xmlrpc_c::value_array(out);
  });
  add("complete_task", [](const paramList& p) -> value {
    count(p, 3, 3);
    api::string_from(p[0], "worker_id");
    api::string_from(p[1], "task_id");
    return result_way_back(api::result_from(p[2], k_limits));
  });
  add("register_worker", [](const paramList& p) -> value {
    count(p, 3, 3);
    const auto id = api::string_from(p[0], "worker_id");
    const auto caps = api::strings_from(p[2], "capabilities");
    const auto address = api::string_from(p[1], "address");
    std::vector<value> out{xmlrpc_c::value_string(id), xmlrpc_c::value_string(address)};
    for (const auto& c : caps) out.push_back(xmlrpc_c::value_string(c));
    return xmlrpc_c::value_array(out);
  });
  add("fail_task", [](const paramList& p) -> value {
    count(p, 3, 3);
    auto reason = api::string_from(p[2], "reason");
    if (reason.size() > 1024) reason.resize(1024);
    return xmlrpc_c::value_string(api::string_from(p[0], "worker_id") + reason);
  });
  add("request_task", [](const paramList& p) -> value {
    count(p, 1, 2);
    api::string_from(p[0], "worker_id");
    const std::int64_t wait = p.size() > 1 ? api::int_from(p[1], "wait_ms") : 0;
    return xmlrpc_c::value_i8(wait);
  });
  add("get_summary", [](const paramList& p) -> value {
    count(p, 3, 3);
    api::int_from(p[0], "port");
    const double interval = api::double_from(p[1], "interval_s");
    const double since = api::double_from(p[2], "since_s");
    FH_FUZZ_CHECK(std::isfinite(interval) && std::isfinite(since));
    return xmlrpc_c::value_double(interval + since);
  });
  return m;
}

struct Parsed {
  bool ok = false;
  std::string method;
  paramList params;
  std::string error;  ///< CodecError message when !ok
};

Parsed parse(std::string_view xml, bool simd,
             const codec::ParseLimits& limits = codec::kCallLimits) {
  codec::enable_base64_simd(simd);
  Parsed p;
  try {
    codec::parse_call(xml, p.method, p.params, limits);
    p.ok = true;
  } catch (const codec::LimitError& e) {
    p.error = e.what();
    FH_FUZZ_CHECK(std::strstr(e.what(), "(max_") != nullptr);  // names the limit
  } catch (const codec::CodecError& e) {
    p.error = e.what();
  }
  return p;
}

/// Whether message is a LimitError's.
bool over_limit(const std::string& message) {
  return message.find("XML-RPC limit exceeded at ") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const rpc::RpcDispatcher* dispatcher = [] {
    fh::shared::setup_logging("off");
    return new rpc::RpcDispatcher(fuzz_methods());  // lives for the process
  }();
  static const rpc::RpcDispatcher* small =
      new rpc::RpcDispatcher(fuzz_methods(), rpc::DispatchLimits{kSmallLimits, kSmallMulticall});
  const std::string_view xml(reinterpret_cast<const char*>(data), size);

  // The parser, with and without the AVX2 base64 kernels: the same outcome.
  const Parsed a = parse(xml, true);
  const Parsed b = parse(xml, false);
  codec::enable_base64_simd(true);
  FH_FUZZ_CHECK(a.ok == b.ok);
  if (a.ok) {
    const std::string sa = codec::serialize_call(a.method, a.params);
    FH_FUZZ_CHECK(a.method == b.method && sa == codec::serialize_call(b.method, b.params));
    // What we write, we read back the same.
    const Parsed c = parse(sa, true);
    FH_FUZZ_CHECK(c.ok);
    FH_FUZZ_CHECK(c.method == a.method && codec::serialize_call(c.method, c.params) == sa);
  } else {
    FH_FUZZ_CHECK(a.error == b.error);
  }
  // Small limits: the same parse, or a LimitError (a syntax error past the limit is not seen).
  const Parsed s = parse(xml, true, kSmallLimits);
  if (s.ok) {
    FH_FUZZ_CHECK(a.ok && s.method == a.method &&
                  codec::serialize_call(s.method, s.params) ==
                      codec::serialize_call(a.method, a.params));
  } else if (!over_limit(s.error)) {
    FH_FUZZ_CHECK(!a.ok && s.error == a.error);
  }

  // The native server's path; the conversions run inside the method bodies.
  const std::string response = dispatcher->handle(xml);
  static const bool debug = std::getenv("FH_FUZZ_DEBUG") != nullptr;
  if (debug) std::fprintf(stderr, "%s\n", response.c_str());
  const codec::ParsedResponse r =
      codec::parse_response(response);  // throws (a finding) if malformed
  if (r.is_fault) {
    FH_FUZZ_CHECK(r.fault_code != api::fault::internal);
    if (!a.ok) FH_FUZZ_CHECK(r.fault_code == api::fault::parse);
  } else {
    FH_FUZZ_CHECK(a.ok);
  }

  // The same request under small limits: the same response, or fault -509 naming the limit.
  const std::string small_response = small->handle(xml);
  if (debug) std::fprintf(stderr, "under small limits: %s\n", small_response.c_str());
  if (small_response != response) {
    const codec::ParsedResponse sr = codec::parse_response(small_response);
    FH_FUZZ_CHECK(sr.is_fault && sr.fault_code == api::fault::limit_exceeded);
    FH_FUZZ_CHECK(sr.fault_string.find("(max_") != std::string::npos);
  }
  if (!s.ok && over_limit(s.error)) {
    const codec::ParsedResponse sr = codec::parse_response(small_response);
    FH_FUZZ_CHECK(sr.is_fault && sr.fault_code == api::fault::limit_exceeded);
  }
  return 0;
}
