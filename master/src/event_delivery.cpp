#include "event_delivery.hpp"

#include "framehive/shared/logging.hpp"
#include "framehive/shared/secret.hpp"

#include <curl/curl.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace fh::master {
namespace {

/// A label as one MQTT topic level: '/', '+', '#' and control bytes (which would split the
/// level or make the topic invalid for a publish) become '_'; an empty label is "_".
std::string topic_level(std::string label) {
  for (char& c : label) {
    if (c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  return label.empty() ? "_" : label;
}

constexpr std::size_t k_batch = 256;           ///< webhook rows read per fetch
constexpr std::size_t k_window = 32;           ///< of them at most this many per target
constexpr double k_poll = 1.0;                 ///< seconds between fetches without a wake()
constexpr std::size_t k_mqtt_in_flight = 200;  ///< MQTT publishes awaiting PUBACK
constexpr double k_mqtt_ack_timeout = 60;  ///< seconds before an unacknowledged publish is redone
constexpr double k_expire_every = 10;      ///< seconds between EventStore::expire() runs
constexpr double k_prune_every = 300;      ///< seconds between EventStore::prune() runs
constexpr double k_offline_wait = 2;       ///< seconds stop() waits for "offline" to be acked

auto log() { return shared::logger("events"); }

/// Seconds of the monotonic system clock (waits that must not follow a test's manual clock).
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

std::string hmac_sha256_hex(const std::string& key, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  return hex(md, len);
}

/// A header value without CR/LF (no header injection through an event's id or type).
std::string header_value(std::string v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n'; }),
          v.end());
  return v;
}

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

int on_progress(void* abort, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(abort)->load() ? 1 : 0;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void mosquitto_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

bool same_mqtt(const MqttSettings& a, const MqttSettings& b) {
  return a.enabled == b.enabled && a.host == b.host && a.port == b.port &&
         a.client_id == b.client_id && a.username == b.username && a.password == b.password &&
         a.tls == b.tls && a.ca_file == b.ca_file && a.topic_prefix == b.topic_prefix &&
         a.keepalive == b.keepalive;
}

}  // namespace

EventDelivery::EventDelivery(EventStore& store, const shared::Clock& clock,
                             std::shared_ptr<const EventsConfig> config)
    : store_(store), clock_(clock), config_(std::move(config)) {
  if (!config_) config_ = std::make_shared<const EventsConfig>();
}

EventDelivery::~EventDelivery() { stop(); }

std::shared_ptr<const EventsConfig> EventDelivery::config() {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_;
}

void EventDelivery::start() {
  if (started_) return;
  started_ = true;
  curl_init_once();
  mosquitto_init_once();
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    reconfigure_ = true;  // the control thread builds the MQTT client
  }
  for (int i = 0; i < k_webhook_threads; ++i)
    hook_threads_.emplace_back([this] { webhook_loop(); });
  control_thread_ = std::thread([this] { control_loop(); });
}

void EventDelivery::stop() {
  abort_.store(true);
  {
    std::lock_guard<std::mutex> lock(hook_mutex_);
    hook_stopping_ = true;
  }
  hook_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    mqtt_stopping_ = true;
  }
  mqtt_cv_.notify_all();
  for (auto& t : hook_threads_) {
    if (t.joinable()) t.join();
  }
  if (control_thread_.joinable()) control_thread_.join();
}

void EventDelivery::set_config(std::shared_ptr<const EventsConfig> config) {
  if (!config) return;
  {
    std::lock_guard<std::mutex> lock(config_mutex_);
    config_ = std::move(config);
  }
  {
    std::lock_guard<std::mutex> lock(secret_mutex_);
    secrets_.clear();
  }
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    reconfigure_ = true;
  }
  mqtt_cv_.notify_all();
}

void EventDelivery::wake() {
  {
    std::lock_guard<std::mutex> lock(hook_mutex_);
    hook_wake_ = true;
  }
  hook_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    mqtt_wake_ = true;
  }
  mqtt_cv_.notify_all();
}

void EventDelivery::publish_counts(int port, const std::map<std::string, std::int64_t>& counts) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    for (const auto& [label, n] : counts) {
      const auto key = std::make_pair(port, label);
      auto it = counts_.find(key);
      if (it == counts_.end() || it->second != n) {
        counts_[key] = n;
        counts_dirty_.insert(key);
        changed = true;
      }
    }
    // Labels of the port no longer counted: 0.
    for (auto it = counts_.lower_bound({port, std::string()});
         it != counts_.end() && it->first.first == port; ++it) {
      if (it->second != 0 && counts.find(it->first.second) == counts.end()) {
        it->second = 0;
        counts_dirty_.insert(it->first);
        changed = true;
      }
    }
  }
  if (changed) mqtt_cv_.notify_all();
}

EventDelivery::Stats EventDelivery::stats() {
  Stats out;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    out = stats_;
  }
  const double now = clock_.wall();
  {
    std::lock_guard<std::mutex> lock(hook_mutex_);
    for (const auto& [target, b] : target_backoff_) {
      if (b.until > now) out.backing_off.push_back(target);
    }
  }
  std::lock_guard<std::mutex> lock(mqtt_mutex_);
  out.mqtt_connected = mqtt_connected_;
  return out;
}

void EventDelivery::count_result(const std::string& kind, bool ok, const std::string& error) {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  if (ok) {
    ++stats_.delivered[kind];
  } else {
    ++stats_.failed_attempts[kind];
    stats_.last_error = error;
  }
}

double EventDelivery::backoff(const DeliverySettings& s, int exponent) {
  thread_local std::mt19937 rng{std::random_device{}()};
  const double base =
      std::min(s.backoff_max, s.backoff_initial * std::ldexp(1.0, std::clamp(exponent, 0, 40)));
  // Jitter: 75..100 % of the step, so that retries of many items spread out.
  return base * std::uniform_real_distribution<double>(0.75, 1.0)(rng);
}

// ---- Webhooks ----

bool EventDelivery::take_ready(double now, OutboxItem& out) {
  for (auto it = ready_.begin(); it != ready_.end();) {
    const auto& target = it->delivery.target;
    if (in_flight_.count(it->id)) {
      it = ready_.erase(it);
      continue;
    }
    if (auto b = target_backoff_.find(target);
        b != target_backoff_.end() && b->second.until > now) {
      it = ready_.erase(it);  // deferred in the store too: fetched again when due
      continue;
    }
    if (auto f = target_in_flight_.find(target);
        f != target_in_flight_.end() && f->second >= k_max_per_target) {
      ++it;
      continue;
    }
    out = std::move(*it);
    ready_.erase(it);
    return true;
  }
  return false;
}

void EventDelivery::webhook_loop() {
  CURL* curl = curl_easy_init();
  if (!curl) {
    log()->error("webhooks: cannot create an HTTP client (curl_easy_init)");
    return;
  }
  std::unique_lock<std::mutex> lk(hook_mutex_);
  while (!hook_stopping_) {
    const double now = clock_.wall();
    OutboxItem item;
    if (!take_ready(now, item)) {
      // Fetch on wake(), at the poll, or when a request finished and the last fetch left rows
      // behind (a full batch or a full window of a target).
      if (!fetching_ &&
          (hook_wake_ || now >= next_fetch_ || (more_due_ && completed_since_fetch_ > 0))) {
        fetching_ = true;
        hook_wake_ = false;
        completed_since_fetch_ = 0;
        done_during_fetch_.clear();
        lk.unlock();
        std::vector<OutboxItem> rows;
        try {
          rows = store_.due(now, k_batch, "webhook", k_window);
        } catch (const std::exception& e) {
          log()->error("webhooks: {}", e.what());
        }
        lk.lock();
        fetching_ = false;
        // The next poll, or sooner when a target's backoff ends (its rows are due then).
        next_fetch_ = clock_.wall() + k_poll;
        for (const auto& [target, b] : target_backoff_) {
          if (b.until > now) next_fetch_ = std::min(next_fetch_, b.until);
        }
        ready_.clear();
        more_due_ = rows.size() >= k_batch;
        std::map<std::string, std::size_t> per_target;
        for (const auto& r : rows) {
          if (++per_target[r.delivery.target] >= k_window) more_due_ = true;
        }
        for (auto& r : rows) {
          if (!in_flight_.count(r.id) && !done_during_fetch_.count(r.id)) {
            ready_.push_back(std::move(r));
          }
        }
        hook_cv_.notify_all();
        continue;
      }
      const double wait = std::clamp(next_fetch_ - now, 0.005, k_poll);
      hook_cv_.wait_for(lk, std::chrono::duration<double>(wait));
      continue;
    }
    in_flight_.insert(item.id);
    ++target_in_flight_[item.delivery.target];
    lk.unlock();

    const auto cfg = config();
    const auto& settings = cfg->delivery;
    Attempt r;
    try {
      r = post(curl, item, settings);
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    double until = 0;
    if (!r.aborted) {
      try {
        if (r.ok) {
          store_.delivered(item.id);
        } else {
          int streak = 0;
          {
            std::lock_guard<std::mutex> lock(hook_mutex_);
            // Counted now: two requests failing together back off 2^s and 2^(s+1).
            streak = target_backoff_[item.delivery.target].streak++;
          }
          // The item waits for its own backoff (its attempts) or the target's (its failure
          // streak), whichever is longer; the target's other rows wait as long.
          const double delay =
              std::max(backoff(settings, item.attempts), backoff(settings, streak));
          until = clock_.wall() + delay;
          store_.retry(item.id, until, r.error);
          store_.defer_target("webhook", item.delivery.target, until);
          if (item.attempts == 0 || streak == 0) {
            log()->warn("webhook {} (event {}): {}; retrying",
                        shared::redact_url(item.delivery.target), item.event_id, r.error);
          }
        }
      } catch (const std::exception& e) {
        log()->error("webhooks: {}", e.what());
      }
      count_result("webhook", r.ok, r.error);
    }

    lk.lock();
    in_flight_.erase(item.id);
    ++completed_since_fetch_;
    if (fetching_) done_during_fetch_.insert(item.id);
    if (--target_in_flight_[item.delivery.target] <= 0) {
      target_in_flight_.erase(item.delivery.target);
    }
    if (!r.aborted) {
      auto& b = target_backoff_[item.delivery.target];
      if (r.ok) {
        target_backoff_.erase(item.delivery.target);
      } else {
        b.until = std::max(b.until, until);
        next_fetch_ = std::min(next_fetch_, until);
      }
    }
    hook_cv_.notify_all();
  }
  lk.unlock();
  curl_easy_cleanup(curl);
}

bool EventDelivery::read_secret(const std::string& path, std::string& secret, std::string& error) {
  {
    std::lock_guard<std::mutex> lock(secret_mutex_);
    if (auto it = secrets_.find(path); it != secrets_.end()) {
      secret = it->second;
      return true;
    }
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || in.bad()) {
    error = "cannot read the webhook secret file " + path;
    return false;
  }
  secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  std::lock_guard<std::mutex> lock(secret_mutex_);
  secrets_[path] = secret;
  return true;
}

EventDelivery::Attempt EventDelivery::post(void* handle, const OutboxItem& item,
                                           const DeliverySettings& settings) {
  Attempt out;
  CURL* curl = static_cast<CURL*>(handle);
  std::string secret;
  if (!item.delivery.secret_file.empty() &&
      !read_secret(item.delivery.secret_file, secret, out.error)) {
    return out;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  headers =
      curl_slist_append(headers, ("X-Framehive-Event-Id: " + header_value(item.event_id)).c_str());
  headers = curl_slist_append(headers,
                              ("X-Framehive-Event-Type: " + header_value(item.event_type)).c_str());
  if (!item.delivery.secret_file.empty()) {
    headers = curl_slist_append(
        headers, ("X-Framehive-Signature: sha256=" + hmac_sha256_hex(secret, item.body)).c_str());
  }
  char error[CURL_ERROR_SIZE] = {};
  const auto timeout_ms = static_cast<long>(std::max(1.0, settings.webhook_timeout * 1000));
  curl_easy_reset(curl);  // keeps the connection cache: keep-alive per target
  curl_easy_setopt(curl, CURLOPT_URL, item.delivery.target.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, item.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(item.body.size()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "framehive");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  // http:// and https:// only, no redirect followed.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (!settings.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort_);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc == CURLE_ABORTED_BY_CALLBACK && abort_.load()) {
    out.aborted = true;
    return out;
  }
  if (rc != CURLE_OK) {
    out.error = error[0] ? error : curl_easy_strerror(rc);
    return out;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    out.ok = true;
  } else {
    out.error = "HTTP status " + std::to_string(status);
  }
  return out;
}

// ---- MQTT and housekeeping ----

void EventDelivery::on_connect(mosquitto*, void* self, int rc) {
  auto* d = static_cast<EventDelivery*>(self);
  bool new_refusal = false;
  {
    std::lock_guard<std::mutex> lock(d->mqtt_mutex_);
    d->mqtt_connected_ = rc == 0;
    ++d->mqtt_generation_;
    if (rc == 0) {
      for (const auto& [key, n] : d->counts_) d->counts_dirty_.insert(key);
    }
    new_refusal = rc != 0 && rc != d->mqtt_refused_rc_;  // once per reason, not per retry
    d->mqtt_refused_rc_ = rc;
  }
  if (new_refusal) {
    log()->warn("mqtt: {} (retrying)", mosquitto_connack_string(rc));
    d->count_result("mqtt", false, std::string("connect: ") + mosquitto_connack_string(rc));
  }
  d->mqtt_cv_.notify_all();
}

void EventDelivery::on_disconnect(mosquitto*, void* self, int rc) {
  auto* d = static_cast<EventDelivery*>(self);
  bool was_connected = false;
  {
    std::lock_guard<std::mutex> lock(d->mqtt_mutex_);
    was_connected = d->mqtt_connected_;
    d->mqtt_connected_ = false;
    ++d->mqtt_generation_;
  }
  if (rc != 0 && was_connected) log()->warn("mqtt: connection lost: {}", mosquitto_strerror(rc));
  d->mqtt_cv_.notify_all();
}

void EventDelivery::on_publish(mosquitto*, void* self, int mid) {
  auto* d = static_cast<EventDelivery*>(self);
  {
    std::lock_guard<std::mutex> lock(d->mqtt_mutex_);
    d->acked_mids_.push_back(mid);
  }
  d->mqtt_cv_.notify_all();
}

void EventDelivery::mqtt_apply_config(const std::shared_ptr<const EventsConfig>& config) {
  const auto& s = config->mqtt;
  if (mosq_ && same_mqtt(s, mqtt_settings_)) return;
  mqtt_teardown();
  mqtt_settings_ = s;
  if (!s.enabled) return;
  mosq_ = mosquitto_new(s.client_id.c_str(), true, this);
  if (!mosq_) {
    log()->error("mqtt: cannot create a client (mosquitto_new)");
    return;
  }
  const auto fail = [&](const char* what, int rc) {
    log()->error("mqtt: {}: {}", what, mosquitto_strerror(rc));
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
  };
  int rc = MOSQ_ERR_SUCCESS;
  if (!s.username.empty() &&
      (rc = mosquitto_username_pw_set(mosq_, s.username.c_str(),
                                      s.password.empty() ? nullptr : s.password.c_str())) !=
          MOSQ_ERR_SUCCESS) {
    return fail("username", rc);
  }
  if (s.tls) {
    rc = s.ca_file.empty()
             ? mosquitto_int_option(mosq_, MOSQ_OPT_TLS_USE_OS_CERTS, 1)
             : mosquitto_tls_set(mosq_, s.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return fail("TLS", rc);
  }
  const std::string will_topic = s.topic_prefix + "/available";
  if ((rc = mosquitto_will_set(mosq_, will_topic.c_str(), 7, "offline", 1, true)) !=
      MOSQ_ERR_SUCCESS) {
    return fail("will", rc);
  }
  mosquitto_connect_callback_set(mosq_, &EventDelivery::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &EventDelivery::on_disconnect);
  mosquitto_publish_callback_set(mosq_, &EventDelivery::on_publish);
  mosquitto_reconnect_delay_set(mosq_, 1, 30, true);
  log()->info("mqtt: connecting to {}:{} as {}", s.host, s.port, s.client_id);
  mqtt_connect_failures_ = 0;
  mqtt_try_connect();
}

void EventDelivery::mqtt_try_connect() {
  const auto& s = mqtt_settings_;
  // Until the first connect succeeds there is no loop thread: a failed connect_async (refused,
  // name not resolved) leaves mosquitto's loop without reconnecting, so this thread retries
  // with its own backoff; once connected, mosquitto's loop thread reconnects by itself.
  int rc = mosquitto_connect_async(mosq_, s.host.c_str(), s.port, s.keepalive);
  if (rc != MOSQ_ERR_SUCCESS) {
    const double delay = std::min(30.0, std::ldexp(1.0, std::min(mqtt_connect_failures_, 5)));
    if (mqtt_connect_failures_ == 0) {
      log()->warn("mqtt: cannot connect to {}:{}: {}; retrying", s.host, s.port,
                  rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    }
    ++mqtt_connect_failures_;
    mqtt_retry_at_ = steady_seconds() + delay;
    return;
  }
  mqtt_retry_at_ = -1;
  if ((rc = mosquitto_loop_start(mosq_)) != MOSQ_ERR_SUCCESS) {
    log()->error("mqtt: cannot start the loop thread: {}", mosquitto_strerror(rc));
    return;
  }
  mqtt_loop_running_ = true;
}

void EventDelivery::mqtt_teardown() {
  if (!mosq_) return;
  bool connected = false;
  {
    std::lock_guard<std::mutex> lock(mqtt_mutex_);
    connected = mqtt_connected_;
  }
  if (connected) {
    int mid = 0;
    const std::string topic = mqtt_settings_.topic_prefix + "/available";
    if (mosquitto_publish(mosq_, &mid, topic.c_str(), 7, "offline", 1, true) == MOSQ_ERR_SUCCESS) {
      // Real time (not clock_): a test's manual clock must not hold stop() up.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::duration<double>(k_offline_wait);
      bool acked = false;
      while (!acked && std::chrono::steady_clock::now() < deadline) {
        std::vector<int> mids;
        {
          std::unique_lock<std::mutex> lk(mqtt_mutex_);
          mqtt_cv_.wait_for(lk, std::chrono::milliseconds(50),
                            [&] { return !acked_mids_.empty() || !mqtt_connected_; });
          mids.swap(acked_mids_);
          if (!mqtt_connected_) break;
        }
        acked = std::find(mids.begin(), mids.end(), mid) != mids.end();
        mqtt_handle_acks(mids);
      }
    }
  }
  if (mqtt_loop_running_) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mqtt_loop_running_ = false;
  }
  mqtt_retry_at_ = -1;
  mosquitto_destroy(mosq_);
  mosq_ = nullptr;
  mid_to_row_.clear();
  mqtt_in_flight_.clear();
  std::lock_guard<std::mutex> lock(mqtt_mutex_);
  mqtt_connected_ = false;
  ++mqtt_generation_;
  mqtt_refused_rc_ = 0;
  acked_mids_.clear();
}

void EventDelivery::mqtt_handle_acks(const std::vector<int>& mids) {
  for (int mid : mids) {
    auto it = mid_to_row_.find(mid);
    if (it == mid_to_row_.end()) continue;  // a count, "online", or from before a reconnect
    const auto id = it->second.outbox_id;
    mid_to_row_.erase(it);
    mqtt_in_flight_.erase(id);
    try {
      store_.delivered(id);
    } catch (const std::exception& e) {
      log()->error("mqtt: {}", e.what());
    }
    count_result("mqtt", true, "");
  }
}

void EventDelivery::mqtt_send_due() {
  const double now = clock_.wall();
  // Publishes never acknowledged within the timeout are sent again.
  for (auto it = mid_to_row_.begin(); it != mid_to_row_.end();) {
    if (now - it->second.at > k_mqtt_ack_timeout) {
      mqtt_in_flight_.erase(it->second.outbox_id);
      count_result("mqtt", false, "no PUBACK within " + std::to_string(k_mqtt_ack_timeout) + " s");
      it = mid_to_row_.erase(it);
    } else {
      ++it;
    }
  }
  // Refill when half the window is acknowledged: one outbox query per 100 PUBACKs, not one each.
  if (mqtt_in_flight_.size() > k_mqtt_in_flight / 2) return;
  std::vector<OutboxItem> rows;
  try {
    rows = store_.due(now, k_mqtt_in_flight, "mqtt");
  } catch (const std::exception& e) {
    log()->error("mqtt: {}", e.what());
    return;
  }
  for (const auto& r : rows) {
    if (mqtt_in_flight_.size() >= k_mqtt_in_flight) break;
    if (mqtt_in_flight_.count(r.id)) continue;
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, r.delivery.target.c_str(),
                                     static_cast<int>(r.body.size()), r.body.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      count_result("mqtt", false, std::string("publish: ") + mosquitto_strerror(rc));
      break;  // not connected: after the reconnect
    }
    mid_to_row_[mid] = Sent{r.id, now};
    mqtt_in_flight_.insert(r.id);
  }
}

void EventDelivery::control_loop() {
  double next_expire = 0, next_prune = 0;
  for (;;) {
    bool reconf = false, connected = false;
    std::uint64_t generation = 0;
    std::vector<int> acked;
    std::vector<std::pair<std::pair<int, std::string>, std::int64_t>> counts;
    {
      std::unique_lock<std::mutex> lk(mqtt_mutex_);
      mqtt_cv_.wait_for(lk, std::chrono::duration<double>(k_poll), [&] {
        return mqtt_stopping_ || reconfigure_ || mqtt_wake_ || !acked_mids_.empty() ||
               mqtt_generation_ != seen_generation_ || (mqtt_connected_ && !counts_dirty_.empty());
      });
      if (mqtt_stopping_) break;
      reconf = std::exchange(reconfigure_, false);
      mqtt_wake_ = false;  // due rows are read on every pass
      acked.swap(acked_mids_);
      generation = mqtt_generation_;
      connected = mqtt_connected_;
      if (connected && mosq_) {
        for (const auto& key : counts_dirty_) counts.emplace_back(key, counts_[key]);
        counts_dirty_.clear();
      }
    }
    const auto cfg = config();
    if (reconf) mqtt_apply_config(cfg);
    if (mosq_ && mqtt_retry_at_ >= 0 && steady_seconds() >= mqtt_retry_at_) mqtt_try_connect();
    mqtt_handle_acks(acked);
    if (generation != seen_generation_) {
      // Connected anew or lost: whatever was unacknowledged is due again (at least once).
      seen_generation_ = generation;
      mid_to_row_.clear();
      mqtt_in_flight_.clear();
      if (connected && mosq_) {
        const std::string topic = mqtt_settings_.topic_prefix + "/available";
        mosquitto_publish(mosq_, nullptr, topic.c_str(), 6, "online", 1, true);
        log()->info("mqtt: connected to {}:{}", mqtt_settings_.host, mqtt_settings_.port);
      }
    }
    if (connected && mosq_) {
      for (const auto& [key, n] : counts) {
        const std::string topic = mqtt_settings_.topic_prefix + "/" + std::to_string(key.first) +
                                  "/" + topic_level(key.second);
        const std::string payload = std::to_string(n);
        mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                          payload.data(), 1, true);
      }
      mqtt_send_due();
    }
    const double mono = clock_.mono();
    if (mono >= next_expire) {
      next_expire = mono + k_expire_every;
      try {
        store_.expire(clock_.wall(), cfg->delivery);
      } catch (const std::exception& e) {
        log()->error("outbox: {}", e.what());
      }
    }
    if (mono >= next_prune) {
      next_prune = mono + k_prune_every;
      try {
        store_.prune(clock_.wall(), cfg->retention);
      } catch (const std::exception& e) {
        log()->error("events: {}", e.what());
      }
    }
  }
  mqtt_teardown();
}

}  // namespace fh::master
