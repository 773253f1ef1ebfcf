#include "framehive/ctl/ctl.hpp"

#include "framehive/shared/rpc_client.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <deque>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fh::ctl {
namespace {

using shared::RpcClient;
using shared::RpcFault;
using shared::RpcTransportError;
using Struct = std::map<std::string, xmlrpc_c::value>;
using Array = std::vector<xmlrpc_c::value>;

constexpr int k_fault_not_found = 404;  // the master's fault code for unknown task/port

// ---------------------------------------------------------------- value access
Struct as_struct(const xmlrpc_c::value& v) { return static_cast<Struct>(xmlrpc_c::value_struct(v)); }
Array as_array(const xmlrpc_c::value& v) { return xmlrpc_c::value_array(v).vectorValueValue(); }

double num(const Struct& s, const char* k) {
  auto it = s.find(k);
  if (it == s.end()) return 0.0;
  switch (it->second.type()) {
    case xmlrpc_c::value::TYPE_INT: return static_cast<int>(xmlrpc_c::value_int(it->second));
    case xmlrpc_c::value::TYPE_I8:
      return static_cast<double>(static_cast<xmlrpc_int64>(xmlrpc_c::value_i8(it->second)));
    case xmlrpc_c::value::TYPE_DOUBLE: return xmlrpc_c::value_double(it->second);
    case xmlrpc_c::value::TYPE_BOOLEAN: return xmlrpc_c::value_boolean(it->second) ? 1 : 0;
    default: return 0.0;
  }
}

std::string str(const Struct& s, const char* k) {
  auto it = s.find(k);
  if (it == s.end() || it->second.type() != xmlrpc_c::value::TYPE_STRING) return "";
  return static_cast<std::string>(xmlrpc_c::value_string(it->second));
}

std::int64_t inum(const Struct& s, const char* k) { return std::llround(num(s, k)); }

// ---------------------------------------------------------------- formatting
std::string json_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return "\"" + o + "\"";
}

std::string fmt_double(double v, int prec = 6) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << v;
  return os.str();
}

std::string local_time(double unix_s, bool with_ms = true) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string s = buf;
  if (with_ms) {
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>((unix_s - std::floor(unix_s)) * 1000));
    s += ms;
  }
  return s;
}

struct Det {
  std::string label;
  double confidence;
  int x, y, w, h;
};

std::vector<Det> detections_of(const Struct& rec) {
  std::vector<Det> out;
  auto it = rec.find("detections");
  if (it == rec.end()) return out;
  for (const auto& v : as_array(it->second)) {
    const Struct d = as_struct(v);
    out.push_back(Det{str(d, "label"), num(d, "confidence"), static_cast<int>(inum(d, "x")),
                      static_cast<int>(inum(d, "y")), static_cast<int>(inum(d, "w")),
                      static_cast<int>(inum(d, "h"))});
  }
  return out;
}

/// "person×3 (0.91), face×1 (0.77)": count and best confidence per label.
std::string summarise(const std::vector<Det>& dets) {
  if (dets.empty()) return "-";
  std::map<std::string, std::pair<int, double>> by;
  for (const auto& d : dets) {
    auto& e = by[d.label];
    e.first++;
    e.second = std::max(e.second, d.confidence);
  }
  std::ostringstream os;
  bool first = true;
  for (const auto& [label, e] : by) {
    if (!first) os << ", ";
    first = false;
    os << label << "\xC3\x97" << e.first << " (" << std::fixed << std::setprecision(2) << e.second
       << ")";
  }
  return os.str();
}

std::string record_json(const Struct& r) {
  std::ostringstream os;
  os << "{\"task_id\":" << json_escape(str(r, "task_id")) << ",\"port\":" << inum(r, "port")
     << ",\"stream\":" << json_escape(str(r, "stream")) << ",\"frame_id\":" << inum(r, "frame_id")
     << ",\"captured_at\":" << fmt_double(num(r, "captured_at"))
     << ",\"completed_at\":" << fmt_double(num(r, "completed_at"))
     << ",\"latency_ms\":" << fmt_double((num(r, "completed_at") - num(r, "captured_at")) * 1000, 3)
     << ",\"worker_id\":" << json_escape(str(r, "worker_id"))
     << ",\"detector\":" << json_escape(str(r, "detector"))
     << ",\"processing_ms\":" << fmt_double(num(r, "processing_ms"), 3) << ",\"detections\":[";
  bool first = true;
  for (const auto& d : detections_of(r)) {
    if (!first) os << ",";
    first = false;
    os << "{\"label\":" << json_escape(d.label) << ",\"confidence\":" << fmt_double(d.confidence, 4)
       << ",\"x\":" << d.x << ",\"y\":" << d.y << ",\"w\":" << d.w << ",\"h\":" << d.h << "}";
  }
  os << "]}";
  return os.str();
}

void print_result_header(std::ostream& out) {
  out << std::left << std::setw(9) << "frame" << std::setw(25) << "captured" << std::setw(18)
      << "worker" << std::setw(11) << "latency" << "detections\n";
}

void print_result_row(std::ostream& out, const Struct& r) {
  std::ostringstream lat;
  lat << std::fixed << std::setprecision(0) << (num(r, "completed_at") - num(r, "captured_at")) * 1000
      << " ms";
  out << std::left << std::setw(9) << inum(r, "frame_id") << std::setw(25)
      << local_time(num(r, "captured_at")) << std::setw(18) << str(r, "worker_id").substr(0, 17)
      << std::setw(11) << lat.str() << summarise(detections_of(r)) << "\n";
}

// ---------------------------------------------------------------- commands
struct Session {
  const CtlOptions& o;
  std::ostream& out;
  std::ostream& err;
  RpcClient client;
  Session(const CtlOptions& opts, std::ostream& o_, std::ostream& e_)
      : o(opts), out(o_), err(e_), client(opts.master, opts.timeout_ms, opts.auth_secret) {}

  xmlrpc_c::value call(const std::string& m, std::initializer_list<xmlrpc_c::value> args) {
    xmlrpc_c::paramList p;
    for (const auto& a : args) p.add(a);
    return client.call(m, p);
  }

  /// Exits with a clear message when the master has never seen the port.
  bool check_port() {
    const Struct st = as_struct(call("status", {}));
    std::vector<int> ports;
    for (const auto& p : as_array(st.at("ports"))) ports.push_back(static_cast<int>(inum(as_struct(p), "port")));
    if (std::find(ports.begin(), ports.end(), o.port) != ports.end()) return true;
    err << "framehive-ctl: unknown port " << o.port << " (the master has ";
    if (ports.empty()) {
      err << "seen no port yet";
    } else {
      err << "ports";
      for (int p : ports) err << " " << p;
    }
    err << ")\n";
    return false;
  }

  int status() {
    const Struct st = as_struct(call("status", {}));
    if (o.json) {
      out << "{\"pending\":" << inum(st, "pending") << ",\"in_progress\":" << inum(st, "in_progress")
          << ",\"completed\":" << inum(st, "completed") << ",\"failed\":" << inum(st, "failed")
          << ",\"dropped\":" << inum(st, "dropped") << ",\"expired\":" << inum(st, "expired")
          << ",\"lost_at_start\":" << inum(st, "lost_at_start") << ",\"ports\":[";
      bool first = true;
      for (const auto& pv : as_array(st.at("ports"))) {
        const Struct p = as_struct(pv);
        out << (first ? "" : ",") << "{\"port\":" << inum(p, "port")
            << ",\"stream\":" << json_escape(str(p, "stream"))
            << ",\"received\":" << inum(p, "received") << ",\"pending\":" << inum(p, "pending")
            << ",\"in_progress\":" << inum(p, "in_progress") << ",\"completed\":" << inum(p, "completed")
            << ",\"failed\":" << inum(p, "failed") << ",\"dropped\":" << inum(p, "dropped")
            << ",\"expired\":" << inum(p, "expired") << ",\"fps\":" << fmt_double(num(p, "fps"), 2)
            << ",\"latency_p50_ms\":" << fmt_double(num(p, "latency_p50_ms"), 2)
            << ",\"latency_p99_ms\":" << fmt_double(num(p, "latency_p99_ms"), 2) << "}";
        first = false;
      }
      out << "],\"workers\":[";
      first = true;
      for (const auto& wv : as_array(st.at("workers"))) {
        const Struct w = as_struct(wv);
        out << (first ? "" : ",") << "{\"worker_id\":" << json_escape(str(w, "worker_id"))
            << ",\"alive\":" << (num(w, "alive") ? "true" : "false")
            << ",\"completed\":" << inum(w, "completed") << ",\"failed\":" << inum(w, "failed")
            << ",\"last_seen\":" << fmt_double(num(w, "last_seen")) << "}";
        first = false;
      }
      out << "]}\n";
      return 0;
    }
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    out << "master " << o.master << "  up " << std::fixed << std::setprecision(0)
        << num(st, "uptime_s") << " s\n";
    out << "queue: pending " << inum(st, "pending") << ", in progress " << inum(st, "in_progress")
        << ", completed " << inum(st, "completed") << ", failed " << inum(st, "failed")
        << ", dropped " << inum(st, "dropped") << ", expired " << inum(st, "expired") << "\n";
    if (inum(st, "lost_at_start") > 0) {
      out << "lost when the master last stopped: " << inum(st, "lost_at_start")
          << " frame(s), recorded as failures (framehive-ctl failures, get_failures)\n";
    }
    const auto waiting = as_array(st.at("waiting_detectors"));
    if (!waiting.empty()) {
      out << "waiting for a worker offering:";
      for (const auto& w : waiting) out << " " << static_cast<std::string>(xmlrpc_c::value_string(w));
      out << "\n";
    }
    out << "\nworkers\n" << std::left << std::setw(24) << "  id" << std::setw(7) << "alive"
        << std::setw(28) << "capabilities" << std::setw(10) << "done" << std::setw(8) << "failed"
        << "last heartbeat\n";
    for (const auto& wv : as_array(st.at("workers"))) {
      const Struct w = as_struct(wv);
      std::string caps;
      for (const auto& c : as_array(w.at("capabilities"))) {
        caps += (caps.empty() ? "" : ",") + static_cast<std::string>(xmlrpc_c::value_string(c));
      }
      std::ostringstream ago;
      ago << std::fixed << std::setprecision(1) << now - num(w, "last_seen") << " s ago";
      out << "  " << std::setw(22) << str(w, "worker_id").substr(0, 21) << std::setw(7)
          << (num(w, "alive") ? "yes" : "NO") << std::setw(28) << caps.substr(0, 27) << std::setw(10)
          << inum(w, "completed") << std::setw(8) << inum(w, "failed") << ago.str() << "\n";
    }
    out << "\nports\n" << std::right << std::setw(7) << "port" << std::setw(10) << "received"
        << std::setw(9) << "pending" << std::setw(10) << "in prog" << std::setw(11) << "completed"
        << std::setw(8) << "failed" << std::setw(9) << "dropped" << std::setw(9) << "expired"
        << std::setw(8) << "fps" << std::setw(10) << "p50 ms" << std::setw(10) << "p99 ms" << "\n";
    for (const auto& pv : as_array(st.at("ports"))) {
      const Struct p = as_struct(pv);
      out << std::setw(7) << inum(p, "port") << std::setw(10) << inum(p, "received") << std::setw(9)
          << inum(p, "pending") << std::setw(10) << inum(p, "in_progress") << std::setw(11)
          << inum(p, "completed") << std::setw(8) << inum(p, "failed") << std::setw(9)
          << inum(p, "dropped") << std::setw(9) << inum(p, "expired") << std::setw(8)
          << std::setprecision(1) << num(p, "fps") << std::setw(10) << std::setprecision(0)
          << num(p, "latency_p50_ms") << std::setw(10) << num(p, "latency_p99_ms") << "\n";
    }
    return 0;
  }

  int results() {
    if (!check_port()) return exit_not_found;
    const auto recs = as_array(call("get_results", {xmlrpc_c::value_int(o.port),
                                                    xmlrpc_c::value_int(o.limit)}));
    if (!o.json) print_result_header(out);
    std::set<std::string> seen;
    std::deque<std::string> seen_order;
    auto remember = [&](const std::string& id) {
      seen.insert(id);
      seen_order.push_back(id);
      while (seen_order.size() > 100000) {
        seen.erase(seen_order.front());
        seen_order.pop_front();
      }
    };
    // Newest first from the master; print oldest first so a table reads down in time.
    for (auto it = recs.rbegin(); it != recs.rend(); ++it) {
      const Struct r = as_struct(*it);
      remember(str(r, "task_id"));
      if (o.json) out << record_json(r) << "\n"; else print_result_row(out, r);
    }
    out.flush();
    while (o.follow) {
      std::this_thread::sleep_for(std::chrono::duration<double>(o.follow_poll_s));
      const auto fresh = as_array(call("get_results", {xmlrpc_c::value_int(o.port),
                                                       xmlrpc_c::value_int(500)}));
      for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
        const Struct r = as_struct(*it);
        const std::string id = str(r, "task_id");
        if (seen.count(id)) continue;
        remember(id);
        if (o.json) out << record_json(r) << "\n"; else print_result_row(out, r);
      }
      out.flush();
    }
    return 0;
  }

  int failures() {
    const auto recs = as_array(call("get_failures", {xmlrpc_c::value_int(o.port),
                                                     xmlrpc_c::value_int(o.limit)}));
    if (recs.empty() && !check_port()) return exit_not_found;
    if (!o.json) {
      out << std::left << std::setw(9) << "frame" << std::setw(25) << "captured" << std::setw(25)
          << "failed" << std::setw(18) << "worker" << "reason\n";
    }
    for (auto it = recs.rbegin(); it != recs.rend(); ++it) {  // oldest first
      const Struct f = as_struct(*it);
      if (o.json) {
        out << "{\"task_id\":" << json_escape(str(f, "task_id")) << ",\"port\":" << inum(f, "port")
            << ",\"stream\":" << json_escape(str(f, "stream"))
            << ",\"frame_id\":" << inum(f, "frame_id")
            << ",\"captured_at\":" << fmt_double(num(f, "captured_at"), 6)
            << ",\"failed_at\":" << fmt_double(num(f, "failed_at"), 6)
            << ",\"worker_id\":" << json_escape(str(f, "worker_id"))
            << ",\"reason\":" << json_escape(str(f, "reason")) << "}\n";
      } else {
        const std::string worker = str(f, "worker_id");
        out << std::left << std::setw(9) << inum(f, "frame_id") << std::setw(25)
            << local_time(num(f, "captured_at")) << std::setw(25) << local_time(num(f, "failed_at"))
            << std::setw(18) << (worker.empty() ? "-" : worker.substr(0, 17)) << str(f, "reason")
            << "\n";
      }
    }
    return 0;
  }

  int summary() {
    if (!check_port()) return exit_not_found;
    const auto buckets = as_array(call("get_summary", {xmlrpc_c::value_int(o.port),
                                                       xmlrpc_c::value_double(o.interval_s),
                                                       xmlrpc_c::value_double(o.since_s)}));
    if (!o.json) {
      out << "port " << o.port << ": detections per " << o.interval_s << " s, last " << o.since_s
          << " s (by capture time)\n";
      out << std::left << std::setw(21) << "from" << std::setw(8) << "frames" << "labels\n";
    }
    for (const auto& bv : buckets) {
      const Struct b = as_struct(bv);
      std::map<std::string, std::int64_t> labels;
      for (const auto& [k, v] : as_struct(b.at("labels"))) {
        labels[k] = static_cast<int>(xmlrpc_c::value_int(v));
      }
      if (o.json) {
        out << "{\"port\":" << o.port << ",\"start\":" << fmt_double(num(b, "start"), 3)
            << ",\"end\":" << fmt_double(num(b, "end"), 3) << ",\"frames\":" << inum(b, "frames")
            << ",\"labels\":{";
        bool first = true;
        for (const auto& [k, v] : labels) {
          out << (first ? "" : ",") << json_escape(k) << ":" << v;
          first = false;
        }
        out << "}}\n";
      } else {
        std::string l;
        for (const auto& [k, v] : labels) l += (l.empty() ? "" : ", ") + k + "\xC3\x97" + std::to_string(v);
        out << std::left << std::setw(21) << local_time(num(b, "start"), false) << std::setw(8)
            << inum(b, "frames") << (l.empty() ? "-" : l) << "\n";
      }
    }
    return 0;
  }

  int frame() {
    Struct f;
    try {
      f = as_struct(call("get_frame", {xmlrpc_c::value_string(o.task)}));
    } catch (const RpcFault& e) {
      if (e.code == k_fault_not_found) {
        err << "framehive-ctl: " << e.what() << "\n";
        return exit_not_found;
      }
      throw;
    }
    const auto bytes = xmlrpc_c::value_bytestring(f.at("image")).vectorUcharValue();
    cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
    if (img.empty()) {
      err << "framehive-ctl: the master's copy of task " << o.task << " does not decode\n";
      return 1;
    }
    const auto dets = detections_of(f);
    for (const auto& d : dets) {
      const cv::Scalar colour(0, 220, 0);
      cv::rectangle(img, cv::Rect(d.x, d.y, d.w, d.h), colour, 2);
      std::ostringstream label;
      label << d.label << " " << std::fixed << std::setprecision(2) << d.confidence;
      int base = 0;
      const auto size = cv::getTextSize(label.str(), cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base);
      const int ty = std::max(d.y, size.height + 4);
      cv::rectangle(img, cv::Rect(d.x, ty - size.height - 4, size.width + 4, size.height + 4),
                    colour, cv::FILLED);
      cv::putText(img, label.str(), cv::Point(d.x + 2, ty - 3), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                  cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    const std::string path = o.output.empty() ? o.task + ".jpg" : o.output;
    if (!cv::imwrite(path, img)) {
      err << "framehive-ctl: cannot write " << path << "\n";
      return 1;
    }
    out << path << ": port " << inum(f, "port") << " frame " << inum(f, "frame_id") << ", "
        << dets.size() << " detection(s): " << summarise(dets) << "\n";
    return 0;
  }

  int export_results() {
    if (!check_port()) return exit_not_found;
    std::ofstream file;
    std::ostream* os = &out;
    if (!o.output.empty() && o.output != "-") {
      file.open(o.output);
      if (!file) {
        err << "framehive-ctl: cannot write " << o.output << "\n";
        return 1;
      }
      os = &file;
    }
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    const double since = o.since_given ? now - o.since_s : 0.0;
    if (o.format == "csv") {
      *os << "task_id,port,stream,frame_id,captured_at,completed_at,latency_ms,worker_id,detector,"
             "processing_ms,label,confidence,x,y,w,h\n";
    }
    // Page through the persisted results, oldest first; the cursor is the master's row id.
    std::int64_t cursor = 0;
    std::size_t rows = 0;
    while (true) {
      const Struct page = as_struct(call("export_results", {xmlrpc_c::value_int(o.port),
                                                            xmlrpc_c::value_double(since),
                                                            xmlrpc_c::value_i8(cursor),
                                                            xmlrpc_c::value_int(1000)}));
      const auto records = as_array(page.at("results"));
      cursor = inum(page, "cursor");
      for (const auto& rv : records) {
        const Struct r = as_struct(rv);
        if (o.format == "jsonl") {
          *os << record_json(r) << "\n";
          ++rows;
          continue;
        }
        auto dets = detections_of(r);
        if (dets.empty()) dets.push_back(Det{"", -1, 0, 0, 0, 0});
        for (const auto& d : dets) {
          std::string stream = str(r, "stream");
          std::replace(stream.begin(), stream.end(), ',', ' ');
          std::string label = d.label;
          std::replace(label.begin(), label.end(), ',', ' ');
          *os << str(r, "task_id") << "," << inum(r, "port") << "," << stream << ","
              << inum(r, "frame_id") << "," << fmt_double(num(r, "captured_at")) << ","
              << fmt_double(num(r, "completed_at")) << ","
              << fmt_double((num(r, "completed_at") - num(r, "captured_at")) * 1000, 3) << ","
              << str(r, "worker_id") << "," << str(r, "detector") << ","
              << fmt_double(num(r, "processing_ms"), 3) << "," << label << ","
              << (d.confidence < 0 ? "" : fmt_double(d.confidence, 4)) << ","
              << (d.confidence < 0 ? "" : std::to_string(d.x)) << ","
              << (d.confidence < 0 ? "" : std::to_string(d.y)) << ","
              << (d.confidence < 0 ? "" : std::to_string(d.w)) << ","
              << (d.confidence < 0 ? "" : std::to_string(d.h)) << "\n";
        }
        ++rows;
      }
      if (records.empty()) break;
    }
    if (os != &out) err << "framehive-ctl: " << rows << " result(s) written to " << o.output << "\n";
    return 0;
  }
};

}  // namespace

double parse_duration(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty duration");
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + text + "' is not a duration (e.g. 30s, 10m, 2h, 1d)");
  }
  const std::string unit = text.substr(pos);
  double mult = 1;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 0.001;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else throw std::invalid_argument("'" + text + "': unknown unit '" + unit + "' (s, m, h, d)");
  if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument("'" + text + "' must be > 0");
  return v * mult;
}

int run(const CtlOptions& o, std::ostream& out, std::ostream& err) {
  try {
    Session s(o, out, err);
    if (o.command == "status") return s.status();
    if (o.command == "results") return s.results();
    if (o.command == "summary") return s.summary();
    if (o.command == "failures") return s.failures();
    if (o.command == "frame") return s.frame();
    if (o.command == "export") return s.export_results();
    err << "framehive-ctl: unknown command '" << o.command
        << "' (status, results, failures, summary, frame, export)\n";
    return 2;
  } catch (const shared::RpcAuthError& e) {
    err << "framehive-ctl: " << e.what() << "\n";
    return 1;
  } catch (const RpcTransportError& e) {
    err << "framehive-ctl: master unreachable at " << o.master << " (" << e.what() << ")\n";
    return 1;
  } catch (const RpcFault& e) {
    err << "framehive-ctl: the master refused: " << e.what() << "\n";
    return e.code == k_fault_not_found ? exit_not_found : 1;
  } catch (const std::exception& e) {
    err << "framehive-ctl: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fh::ctl
