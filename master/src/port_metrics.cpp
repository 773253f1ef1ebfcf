#include "port_metrics.hpp"

#include <algorithm>

namespace fh::master {
namespace {

constexpr std::size_t k_latency_window = 1000;  // latencies kept per port for percentiles
constexpr double k_fps_window_s = 10.0;         // completions window for fps

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.5);
  k = std::min(v.size() - 1, k == 0 ? 0 : k - 1);
  return v[k];
}

}  // namespace

PortMetrics::PortMetrics(std::string default_detector, std::map<int, std::string> port_detectors,
                         std::size_t retain_results, std::size_t keep_frames,
                         std::size_t keep_frames_bytes)
    : default_detector_(std::move(default_detector)),
      port_detectors_(std::move(port_detectors)),
      retain_results_(retain_results),
      keep_frames_(keep_frames),
      keep_frames_bytes_(keep_frames_bytes) {}

PortStatus& PortMetrics::stats(int port) { return books(port).stats; }

void PortMetrics::record_received(int port, double now_mono, double now_wall) {
  Port& p = books(port);
  p.stats.last_received_at = now_wall;
  p.received_mono.push_back(now_mono);
  while (!p.received_mono.empty() && now_mono - p.received_mono.front() > k_fps_window_s) {
    p.received_mono.pop_front();
  }
}

PortMetrics::Port& PortMetrics::books(int port) {
  auto it = ports_.find(port);
  if (it == ports_.end()) {
    it = ports_.emplace(port, Port{}).first;
    it->second.stats.port = port;
    auto d = port_detectors_.find(port);
    it->second.stats.detector = d == port_detectors_.end() ? default_detector_ : d->second;
    it->second.stats.source = port == shared::api::k_upload_port ? "upload" : "camera";
    it->second.counters.port = port;
  }
  return it->second;
}

void PortMetrics::load_results(int port, std::vector<ResultRecord> records) {
  Port& p = books(port);
  for (auto& r : records) {
    if (p.stats.stream.empty()) p.stats.stream = r.stream;
    p.results.push_back(std::move(r));
  }
}

void PortMetrics::record_completion(const ResultRecord& record, const shared::api::Image& image,
                                    double now_mono) {
  Port& p = books(record.port);
  p.stats.completed++;
  p.completions_mono.push_back(now_mono);
  while (!p.completions_mono.empty() && now_mono - p.completions_mono.front() > k_fps_window_s) {
    p.completions_mono.pop_front();
  }
  if (record.captured_at > 0.0) {
    const double latency_s = record.completed_at - record.captured_at;
    p.latencies_ms.push_back(latency_s * 1000.0);
    if (p.latencies_ms.size() > k_latency_window) p.latencies_ms.pop_front();
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(k_latency_buckets_s.begin(), k_latency_buckets_s.end(), latency_s) -
        k_latency_buckets_s.begin());
    p.counters.latency_buckets[bucket]++;
    p.counters.latency_sum_s += latency_s;
    p.counters.latency_count++;
  }
  for (const auto& d : record.detections) {
    auto& labels = p.counters.detections;
    auto it = labels.find(d.label);
    if (it != labels.end()) {
      it->second++;
    } else if (labels.size() < k_max_labels_per_port) {
      labels.emplace(d.label, 1);
    } else {
      labels["other"]++;
    }
  }
  p.results.push_front(record);
  if (p.results.size() > retain_results_) p.results.pop_back();
  if (keep_frames_ == 0 || !image || image->size() > keep_frames_bytes_) return;
  if (!kept_.emplace(record.task_id, KeptFrame{record, image}).second) return;
  kept_bytes_ += image->size();
  p.kept++;
  p.latest_kept = record.task_id;
  p.kept_order.push_back(record.task_id);
  kept_all_.push_back(record.task_id);
  while (p.kept > keep_frames_) {  // the port's oldest kept frame
    const std::string id = std::move(p.kept_order.front());
    p.kept_order.pop_front();
    unkeep(id);
  }
  while (kept_bytes_ > keep_frames_bytes_) {  // the oldest kept frame of any port
    const std::string id = std::move(kept_all_.front());
    kept_all_.pop_front();
    unkeep(id);
  }
  compact(p.kept_order, p.kept);
  compact(kept_all_, kept_.size());
}

bool PortMetrics::unkeep(const std::string& task_id) {
  auto it = kept_.find(task_id);
  if (it == kept_.end()) return false;
  kept_bytes_ -= it->second.image ? it->second.image->size() : 0;
  auto port = ports_.find(it->second.record.port);
  if (port != ports_.end()) port->second.kept--;
  kept_.erase(it);
  return true;
}

void PortMetrics::compact(std::deque<std::string>& order, std::size_t live) {
  while (!order.empty() && kept_.count(order.front()) == 0) order.pop_front();
  if (order.size() <= 2 * live + 16) return;
  std::deque<std::string> still;
  for (auto& id : order) {
    if (kept_.count(id) > 0) still.push_back(std::move(id));
  }
  order.swap(still);
}

std::optional<KeptFrame> PortMetrics::kept_frame(const std::string& task_id) const {
  auto it = kept_.find(task_id);
  if (it == kept_.end()) return std::nullopt;
  return it->second;
}

shared::api::Image PortMetrics::kept_image(const std::string& task_id) const {
  auto it = kept_.find(task_id);
  return it == kept_.end() ? nullptr : it->second.image;
}

std::vector<ResultRecord> PortMetrics::results(int port, std::size_t limit) const {
  auto it = ports_.find(port);
  if (it == ports_.end()) return {};
  const auto& r = it->second.results;
  const std::size_t n = limit == 0 ? r.size() : std::min(limit, r.size());
  return std::vector<ResultRecord>(r.begin(), r.begin() + static_cast<long>(n));
}

std::vector<PortStatus> PortMetrics::status_rows(double now_mono) const {
  std::vector<PortStatus> rows;
  rows.reserve(ports_.size());
  for (const auto& [pn, p] : ports_) {
    PortStatus ps = p.stats;
    std::size_t recent = 0;
    for (double t : p.completions_mono) recent += (now_mono - t <= k_fps_window_s) ? 1 : 0;
    ps.fps = static_cast<double>(recent) / k_fps_window_s;
    std::vector<double> lat(p.latencies_ms.begin(), p.latencies_ms.end());
    ps.latency_p50_ms = percentile(lat, 50);
    ps.latency_p99_ms = percentile(std::move(lat), 99);
    std::size_t arrived = 0;
    for (double t : p.received_mono) arrived += (now_mono - t <= k_fps_window_s) ? 1 : 0;
    ps.fps_in = static_cast<double>(arrived) / k_fps_window_s;
    if (kept_.count(p.latest_kept)) ps.latest_task_id = p.latest_kept;
    rows.push_back(std::move(ps));
  }
  return rows;
}

std::vector<PortCounters> PortMetrics::counters() const {
  std::vector<PortCounters> out;
  out.reserve(ports_.size());
  for (const auto& [pn, p] : ports_) out.push_back(p.counters);
  return out;
}

std::optional<KeptFrame> PortMetrics::latest_frame(int port) const {
  auto it = ports_.find(port);
  if (it == ports_.end()) return std::nullopt;
  return kept_frame(it->second.latest_kept);
}

std::optional<ResultRecord> PortMetrics::find_result(int port, const std::string& task_id) const {
  auto it = ports_.find(port);
  if (it == ports_.end()) return std::nullopt;
  for (const auto& r : it->second.results) {
    if (r.task_id == task_id) return r;
  }
  return std::nullopt;
}

namespace {
void apply_track_ids(std::vector<Detection>& detections, const std::vector<std::int64_t>& ids) {
  for (std::size_t i = 0; i < detections.size() && i < ids.size(); ++i) {
    if (ids[i] != 0) detections[i].track_id = ids[i];
  }
}
}  // namespace

void PortMetrics::set_track_ids(int port, const std::string& task_id,
                                const std::vector<std::int64_t>& track_ids) {
  if (auto kept = kept_.find(task_id); kept != kept_.end()) {
    apply_track_ids(kept->second.record.detections, track_ids);
  }
  const auto it = ports_.find(port);
  if (it == ports_.end()) return;
  for (auto& r : it->second.results) {  // newest first
    if (r.task_id == task_id) {
      apply_track_ids(r.detections, track_ids);
      return;
    }
  }
}

}  // namespace fh::master
