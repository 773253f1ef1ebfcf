#include "framehive/ctl/ctl.hpp"

#include "framehive/shared/api/event_type.hpp"
#include "framehive/shared/api/json.hpp"
#include "framehive/shared/api/master_client.hpp"
#include "framehive/shared/api/names.hpp"
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

namespace api = shared::api;
using api::Json;
using shared::RpcFault;
using shared::RpcTransportError;

// ---------------------------------------------------------------- formatting
std::string fmt_double(double v, int prec) {
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

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double latency_ms(const api::ResultRecord& r) { return (r.completed_at - r.captured_at) * 1000; }

/// "person×3 (0.91), face×1 (0.77)": count and best confidence per label.
std::string summarise(const std::vector<api::Detection>& dets) {
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

/// One JSON object on one line; bytes that are not UTF-8 are replaced, never fatal.
std::string json_line(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

/// A result as one JSON line: the contract's members plus latency_ms.
std::string record_json(const api::ResultRecord& r) {
  Json j = r;
  j["latency_ms"] = latency_ms(r);
  return json_line(j);
}

void print_result_header(std::ostream& out) {
  out << std::left << std::setw(9) << "frame" << std::setw(25) << "captured" << std::setw(18)
      << "worker" << std::setw(11) << "latency"
      << "detections\n";
}

void print_result_row(std::ostream& out, const api::ResultRecord& r) {
  out << std::left << std::setw(9) << r.frame_id << std::setw(25) << local_time(r.captured_at)
      << std::setw(18) << r.worker_id.substr(0, 17) << std::setw(11)
      << fmt_double(latency_ms(r), 0) + " ms" << summarise(r.detections) << "\n";
}

/// "a,b": commas in free text would shift the CSV columns.
std::string csv_text(std::string s) {
  std::replace(s.begin(), s.end(), ',', ' ');
  return s;
}

void print_csv_rows(std::ostream& os, const api::ResultRecord& r) {
  const std::string prefix = r.task_id + "," + std::to_string(r.port) + "," + csv_text(r.stream) +
                             "," + std::to_string(r.frame_id) + "," + fmt_double(r.captured_at, 6) +
                             "," + fmt_double(r.completed_at, 6) + "," +
                             fmt_double(latency_ms(r), 3) + "," + r.worker_id + "," + r.detector +
                             "," + fmt_double(r.processing_ms, 3) + ",";
  if (r.detections.empty()) os << prefix << ",,,,,\n";
  for (const auto& d : r.detections) {
    os << prefix << csv_text(d.label) << "," << fmt_double(d.confidence, 4) << "," << d.x << ","
       << d.y << "," << d.w << "," << d.h << "\n";
  }
}

// ---------------------------------------------------------------- commands
struct Session {
  const CtlOptions& o;
  std::ostream& out;
  std::ostream& err;
  api::MasterClient client;
  Session(const CtlOptions& opts, std::ostream& o_, std::ostream& e_)
      : o(opts), out(o_), err(e_), client(opts.master, opts.timeout_ms, opts.auth_secret) {}

  /// Exits with a clear message when the master has never seen the port.
  bool check_port() {
    const auto st = client.status();
    std::vector<int> ports;
    for (const auto& p : st.ports) ports.push_back(p.port);
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
    const auto st = client.status();
    if (o.json) {
      out << json_line(Json(st)) << "\n";
      return 0;
    }
    print_status(st);
    return 0;
  }

  void print_status(const api::Status& st) {
    const double now = now_unix();
    out << "master " << o.master << "  up " << fmt_double(st.uptime_s, 0) << " s\n";
    out << "queue: pending " << st.pending << ", in progress " << st.in_progress << ", completed "
        << st.completed << ", failed " << st.failed << ", dropped " << st.dropped << ", expired "
        << st.expired << "\n";
    if (st.lost_at_start > 0) {
      out << "lost when the master last stopped: " << st.lost_at_start
          << " frame(s), recorded as failures (framehive-ctl failures, get_failures)\n";
    }
    if (!st.waiting_detectors.empty()) {
      out << "waiting for a worker offering:";
      for (const auto& w : st.waiting_detectors) out << " " << w;
      out << "\n";
    }
    out << "\nworkers\n"
        << std::left << std::setw(24) << "  id" << std::setw(7) << "alive" << std::setw(28)
        << "capabilities" << std::setw(10) << "done" << std::setw(8) << "failed"
        << "last heartbeat\n";
    for (const auto& w : st.workers) {
      std::string caps;
      for (const auto& c : w.capabilities) caps += (caps.empty() ? "" : ",") + c;
      out << "  " << std::setw(22) << w.worker_id.substr(0, 21) << std::setw(7)
          << (w.alive ? "yes" : "NO") << std::setw(28) << caps.substr(0, 27) << std::setw(10)
          << w.completed << std::setw(8) << w.failed << fmt_double(now - w.last_seen, 1)
          << " s ago\n";
    }
    out << "\nports\n"
        << std::right << std::setw(7) << "port" << std::setw(10) << "received" << std::setw(9)
        << "pending" << std::setw(10) << "in prog" << std::setw(11) << "completed" << std::setw(8)
        << "failed" << std::setw(9) << "dropped" << std::setw(9) << "expired" << std::setw(8)
        << "gated" << std::setw(8) << "fps" << std::setw(10) << "p50 ms" << std::setw(10)
        << "p99 ms"
        << "  detector\n";
    for (const auto& p : st.ports) {
      out << std::setw(7) << p.port << std::setw(10) << p.received << std::setw(9) << p.pending
          << std::setw(10) << p.in_progress << std::setw(11) << p.completed << std::setw(8)
          << p.failed << std::setw(9) << p.dropped << std::setw(9) << p.expired << std::setw(8)
          << p.gated << std::setw(8) << fmt_double(p.fps, 1) << std::setw(10)
          << fmt_double(p.latency_p50_ms, 0) << std::setw(10) << fmt_double(p.latency_p99_ms, 0)
          << "  " << port_detector(p) << "\n";
    }
  }

  /// A port's detector for the status table: the one its frames go to, and for a fallback
  /// chain the chain, e.g. "hog (fallback; chain dnn:yolo,hog)".
  static std::string port_detector(const api::PortStatus& p) {
    if (p.detector_chain.empty()) return p.detector;
    std::string chain;
    for (const auto& d : p.detector_chain) chain += (chain.empty() ? "" : ",") + d;
    return p.running_detector + (p.fallback ? " (fallback; chain " : " (chain ") + chain + ")";
  }

  void print_record(const api::ResultRecord& r) {
    if (o.json) {
      out << record_json(r) << "\n";
    } else {
      print_result_row(out, r);
    }
  }

  int results() {
    if (!check_port()) return exit_not_found;
    const auto recs = client.get_results(o.port, o.limit);
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
      remember(it->task_id);
      print_record(*it);
    }
    out.flush();
    while (o.follow) {
      std::this_thread::sleep_for(std::chrono::duration<double>(o.follow_poll_s));
      const auto fresh = client.get_results(o.port, 500);
      for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
        if (seen.count(it->task_id)) continue;
        remember(it->task_id);
        print_record(*it);
      }
      out.flush();
    }
    return 0;
  }

  int failures() {
    const auto recs = client.get_failures(o.port, o.limit);
    if (recs.empty() && !check_port()) return exit_not_found;
    if (!o.json) {
      out << std::left << std::setw(9) << "frame" << std::setw(25) << "captured" << std::setw(25)
          << "failed" << std::setw(18) << "worker"
          << "reason\n";
    }
    for (auto it = recs.rbegin(); it != recs.rend(); ++it) {  // oldest first
      const auto& f = *it;
      if (o.json) {
        out << json_line(Json(f)) << "\n";
      } else {
        out << std::left << std::setw(9) << f.frame_id << std::setw(25) << local_time(f.captured_at)
            << std::setw(25) << local_time(f.failed_at) << std::setw(18)
            << (f.worker_id.empty() ? "-" : f.worker_id.substr(0, 17)) << f.reason << "\n";
      }
    }
    return 0;
  }

  int summary() {
    if (!check_port()) return exit_not_found;
    const auto buckets = client.get_summary(o.port, o.interval_s, o.since_s);
    if (!o.json) {
      out << "port " << o.port << ": detections per " << o.interval_s << " s, last " << o.since_s
          << " s (by capture time); (N objects): distinct tracked objects\n";
      out << std::left << std::setw(21) << "from" << std::setw(8) << "frames"
          << "labels\n";
    }
    for (const auto& b : buckets) {
      if (o.json) {
        Json j{{api::field::port, o.port}};
        j.update(Json(b));
        out << json_line(j) << "\n";
      } else {
        std::string l;
        for (const auto& [k, v] : b.labels) {
          l += (l.empty() ? "" : ", ") + k + "\xC3\x97" + std::to_string(v);
          if (auto t = b.tracks.find(k); t != b.tracks.end()) {
            l += " (" + std::to_string(t->second) + (t->second == 1 ? " object)" : " objects)");
          }
        }
        out << std::left << std::setw(21) << local_time(b.start, false) << std::setw(8) << b.frames
            << (l.empty() ? "-" : l) << "\n";
      }
    }
    return 0;
  }

  /// Stored events (all ports, or --port) of the last --since (1 h by default), the newest
  /// --limit of them oldest first; --follow keeps printing new ones.
  int events() {
    const int port = o.port > 0 ? o.port : -1;
    const double since = now_unix() - (o.since_given ? o.since_s : 3600.0);
    if (!o.json) {
      out << std::left << std::setw(25) << "time" << std::setw(7) << "port" << std::setw(21)
          << "type" << std::setw(18) << "object"
          << "detail\n";
    }
    std::int64_t after = 0;
    std::deque<api::Event> last;  // the newest --limit matching events
    for (;;) {                    // pages of 1000 up to the newest
      const auto page = client.get_events(port, since, 1000, after);
      for (const auto& e : page) {
        after = std::max(after, e.seq);
        if (!type_wanted(e.type)) continue;
        last.push_back(e);
        if (last.size() > static_cast<std::size_t>(o.limit)) last.pop_front();
      }
      if (page.size() < 1000) break;
    }
    for (const auto& e : last) print_event(e);
    out.flush();
    while (o.follow) {
      std::this_thread::sleep_for(std::chrono::duration<double>(o.follow_poll_s));
      for (const auto& e : client.get_events(port, since, 1000, after)) {
        after = std::max(after, e.seq);
        if (type_wanted(e.type)) print_event(e);
      }
      out.flush();
    }
    return 0;
  }

  /// Whether --type (none: every type) lets an event of type through.
  bool type_wanted(const std::string& type) const {
    return o.type.empty() || api::event_type::type_matches(o.type, type);
  }

  void print_event(const api::Event& e) {
    if (o.json) {
      out << json_line(Json(e)) << "\n";
      return;
    }
    std::string object = "-";
    std::string detail = e.detail;
    if (e.track_id != 0) {
      object = e.label + " #" + std::to_string(e.track_id);
      detail = fmt_double(e.confidence, 2) + (e.zone.empty() ? "" : " zone " + e.zone);
      if (e.end > 0) detail += ", " + fmt_double(e.end - e.start, 1) + " s in view";
      detail += ", snapshot " + e.snapshot_task_id;
    }
    if (!e.rules.empty()) {
      std::string r;
      for (const auto& n : e.rules) r += (r.empty() ? "" : ",") + n;
      detail += " -> " + r;
    }
    out << std::left << std::setw(25) << local_time(e.time) << std::setw(7)
        << (e.port == 0 ? std::string("-") : std::to_string(e.port)) << std::setw(21) << e.type
        << std::setw(18) << object << detail << "\n";
  }

  int frame() {
    api::KeptFrame f;
    try {
      f = client.get_frame(o.task);
    } catch (const RpcFault& e) {
      if (e.code == api::fault::not_found) {
        err << "framehive-ctl: " << e.what() << "\n";
        return exit_not_found;
      }
      throw;
    }
    cv::Mat img = cv::imdecode(*f.image, cv::IMREAD_COLOR);
    if (img.empty()) {
      err << "framehive-ctl: the master's copy of task " << o.task << " does not decode\n";
      return 1;
    }
    const auto& dets = f.record.detections;
    for (const auto& d : dets) draw_box(img, d);
    const std::string path = o.output.empty() ? o.task + ".jpg" : o.output;
    if (!cv::imwrite(path, img)) {
      err << "framehive-ctl: cannot write " << path << "\n";
      return 1;
    }
    out << path << ": port " << f.record.port << " frame " << f.record.frame_id << ", "
        << dets.size() << " detection(s): " << summarise(dets) << "\n";
    return 0;
  }

  /// Submits every image, then waits for each result (polling get_task) and prints it.
  int detect() {
    struct Job {
      std::string file, task_id, state;
    };
    std::vector<Job> jobs;
    int rc = 0;
    for (const auto& file : o.images) {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        err << "framehive-ctl: cannot read " << file << "\n";
        rc = 1;
        continue;
      }
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
      const auto slash = file.find_last_of('/');
      const std::string name = slash == std::string::npos ? file : file.substr(slash + 1);
      try {
        jobs.push_back({file, client.add_image(bytes, o.detector, name), "pending"});
      } catch (const RpcFault& e) {
        err << "framehive-ctl: " << file << ": refused: " << e.what() << "\n";
        rc = 1;
      }
    }
    if (!o.json && !jobs.empty()) {
      err << "framehive-ctl: " << jobs.size() << " image(s) queued; waiting for workers (up to "
          << fmt_double(o.wait_s, 0) << " s)\n";
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<long>(o.wait_s * 1000));
    std::size_t done = 0;
    while (done < jobs.size()) {
      for (auto& job : jobs) {
        if (job.state == "completed" || job.state == "failed") continue;
        const auto info = client.get_task(job.task_id);
        job.state = info.state;
        if (info.state != "completed" && info.state != "failed") continue;
        ++done;
        if (o.json) {
          Json j = info;
          j["file"] = job.file;
          out << json_line(j) << "\n";
        } else if (info.state == "completed") {
          const auto& dets = info.record.detections;
          out << job.file << ": " << dets.size() << " detection(s) by " << info.detector << " on "
              << info.record.worker_id << " in " << fmt_double(info.record.processing_ms, 0)
              << " ms (task " << job.task_id << ")\n";
          for (const auto& d : dets) {
            out << "  " << std::left << std::setw(12) << d.label << fmt_double(d.confidence, 2)
                << "  x=" << d.x << " y=" << d.y << " w=" << d.w << " h=" << d.h << "\n";
          }
        } else {
          out << job.file << ": failed: "
              << (info.has_failure ? info.failure.reason : std::string("unknown reason"))
              << " (task " << job.task_id << ")\n";
        }
        if (info.state == "failed") rc = 1;
      }
      if (done == jobs.size()) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        for (const auto& job : jobs) {
          if (job.state == "completed" || job.state == "failed") continue;
          err << "framehive-ctl: " << job.file << ": still " << job.state << " after "
              << fmt_double(o.wait_s, 0) << " s (task " << job.task_id
              << "; is a worker offering its detector running? framehive-ctl status)\n";
        }
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(o.poll_s * 1000)));
    }
    return rc;
  }

  static void draw_box(cv::Mat& img, const api::Detection& d) {
    const cv::Scalar colour(0, 220, 0);
    cv::rectangle(img, cv::Rect(d.x, d.y, d.w, d.h), colour, 2);
    const std::string label = d.label + " " + fmt_double(d.confidence, 2);
    int base = 0;
    const auto size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base);
    const int ty = std::max(d.y, size.height + 4);
    cv::rectangle(img, cv::Rect(d.x, ty - size.height - 4, size.width + 4, size.height + 4), colour,
                  cv::FILLED);
    cv::putText(img, label, cv::Point(d.x + 2, ty - 3), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
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
    const double since = o.since_given ? now_unix() - o.since_s : 0.0;
    if (o.format == "csv") {
      *os << "task_id,port,stream,frame_id,captured_at,completed_at,latency_ms,worker_id,detector,"
             "processing_ms,label,confidence,x,y,w,h\n";
    }
    // Page through the persisted results, oldest first; the cursor is the master's row id.
    std::int64_t cursor = 0;
    std::size_t rows = 0;
    while (true) {
      const auto page = client.export_results(o.port, since, cursor, 1000);
      cursor = page.cursor;
      for (const auto& r : page.results) {
        if (o.format == "jsonl") {
          *os << record_json(r) << "\n";
        } else {
          print_csv_rows(*os, r);
        }
        ++rows;
      }
      if (page.results.empty()) break;
    }
    if (os != &out)
      err << "framehive-ctl: " << rows << " result(s) written to " << o.output << "\n";
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
  if (unit.empty() || unit == "s")
    mult = 1;
  else if (unit == "ms")
    mult = 0.001;
  else if (unit == "m" || unit == "min")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    throw std::invalid_argument("'" + text + "': unknown unit '" + unit + "' (s, m, h, d)");
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
    if (o.command == "detect") return s.detect();
    if (o.command == "events") return s.events();
    err << "framehive-ctl: unknown command '" << o.command
        << "' (status, results, failures, summary, frame, export, detect, events)\n";
    return 2;
  } catch (const shared::RpcAuthError& e) {
    err << "framehive-ctl: " << e.what() << "\n";
    return 1;
  } catch (const RpcTransportError& e) {
    err << "framehive-ctl: master unreachable at " << o.master << " (" << e.what() << ")\n";
    return 1;
  } catch (const RpcFault& e) {
    err << "framehive-ctl: the master refused: " << e.what() << "\n";
    return e.code == api::fault::not_found ? exit_not_found : 1;
  } catch (const std::exception& e) {
    err << "framehive-ctl: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fh::ctl
