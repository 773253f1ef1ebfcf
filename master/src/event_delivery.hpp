#pragma once
// At-least-once delivery of the outbox (EventStore) to webhooks (HTTP POST, HMAC-signed, a small
// pool of threads, exponential backoff per item and per target) and to an MQTT broker (QoS 1,
// the row deleted when the broker acknowledges), plus the retained per-label object counts.
// Order of delivery is not guaranteed: retries, several threads and reconnects reorder events;
// a consumer orders by the event's seq or time and drops duplicates by its id.
// Thread-safe: add rows to the store and call wake()/publish_counts() from any thread; they
// return at once. Every thread is joined by stop() (or the destructor); the store and the clock
// must outlive it.

#include "event_store.hpp"
#include "events_config.hpp"
#include "framehive/shared/clock.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct mosquitto;

namespace fh::master {

class EventDelivery {
 public:
  struct Stats {
    std::map<std::string, std::int64_t> delivered;        ///< since start, per kind
    std::map<std::string, std::int64_t> failed_attempts;  ///< since start, per kind
    bool mqtt_connected = false;
    std::vector<std::string> backing_off;  ///< webhook targets waiting out a backoff now
    std::string last_error;                ///< of the latest failed attempt
  };

  EventDelivery(EventStore& store, const shared::Clock& clock,
                std::shared_ptr<const EventsConfig> config);
  ~EventDelivery();  ///< stops
  EventDelivery(const EventDelivery&) = delete;
  EventDelivery& operator=(const EventDelivery&) = delete;

  /// Starts the webhook threads and the control thread (MQTT, expiry). Once.
  void start();
  /// A new config (SIGHUP): the MQTT client is rebuilt when its settings changed; secret files
  /// are read again.
  void set_config(std::shared_ptr<const EventsConfig> config);
  /// New outbox rows: deliver now instead of at the next poll.
  void wake();
  /// Current object counts per label of a port, published retained on "<prefix>/<port>/<label>"
  /// when MQTT is configured (latest value wins; published on change, all again after a
  /// reconnect). A label of the port missing from counts is published as 0.
  void publish_counts(int port, const std::map<std::string, std::int64_t>& counts);
  /// Ends the threads: webhook requests in flight are aborted (their rows stay due), MQTT
  /// publishes "offline" on "<prefix>/available" and disconnects cleanly. Idempotent.
  void stop();
  Stats stats();

  /// Webhook threads; at most this many requests to one target at a time.
  static constexpr int k_webhook_threads = 4;
  static constexpr int k_max_per_target = 2;

 private:
  struct Attempt {
    bool ok = false;
    bool aborted = false;  ///< by stop(): neither delivered nor failed
    std::string error;
  };
  struct Backoff {
    double until = 0;  ///< Unix seconds the target may be tried again
    int streak = 0;    ///< failures in a row
  };

  std::shared_ptr<const EventsConfig> config();
  // Webhooks
  void webhook_loop();
  /// The first ready item that may go now (target not backing off, below k_max_per_target);
  /// caller holds hook_mutex_.
  bool take_ready(double now, OutboxItem& out);
  Attempt post(void* curl, const OutboxItem& item, const DeliverySettings& settings);
  bool read_secret(const std::string& path, std::string& secret, std::string& error);
  double backoff(const DeliverySettings& s, int exponent);
  // Control thread: MQTT and expiry
  void control_loop();
  void mqtt_apply_config(const std::shared_ptr<const EventsConfig>& config);
  void mqtt_try_connect();
  void mqtt_teardown();
  void mqtt_handle_acks(const std::vector<int>& mids);
  void mqtt_send_due();
  void count_result(const std::string& kind, bool ok, const std::string& error);
  static void on_connect(mosquitto* m, void* self, int rc);
  static void on_disconnect(mosquitto* m, void* self, int rc);
  static void on_publish(mosquitto* m, void* self, int mid);

  EventStore& store_;
  const shared::Clock& clock_;

  std::mutex config_mutex_;                     ///< guards config_
  std::shared_ptr<const EventsConfig> config_;  ///< current config

  std::mutex secret_mutex_;                     ///< guards secrets_
  std::map<std::string, std::string> secrets_;  ///< secret file path -> its contents

  std::atomic<bool> abort_{false};  ///< stop(): curl transfers in flight end
  bool started_ = false;            ///< start() ran (caller's thread only)

  std::mutex hook_mutex_;                   ///< guards the webhook state below, up to hook_threads_
  std::condition_variable hook_cv_;         ///< wake(), completions, stop
  bool hook_stopping_ = false;              ///< stop() asked
  bool hook_wake_ = false;                  ///< wake() since the last fetch
  bool fetching_ = false;                   ///< a thread is reading due rows
  double next_fetch_ = 0;                   ///< Unix seconds of the next fetch without a wake
  bool more_due_ = false;                   ///< the last fetch may have left due rows behind
  std::int64_t completed_since_fetch_ = 0;  ///< requests finished since the last fetch began
  std::deque<OutboxItem> ready_;            ///< due rows fetched, not yet taken
  std::set<std::int64_t> in_flight_;        ///< rows being posted
  std::set<std::int64_t> done_during_fetch_;       ///< rows finished while a fetch ran
  std::map<std::string, int> target_in_flight_;    ///< requests in flight per target
  std::map<std::string, Backoff> target_backoff_;  ///< per target
  std::vector<std::thread> hook_threads_;  ///< joined by stop() (started/joined by the owner)

  std::mutex mqtt_mutex_;              ///< guards the MQTT state below, up to control_thread_
  std::condition_variable mqtt_cv_;    ///< callbacks, wake(), counts, config, stop
  bool mqtt_stopping_ = false;         ///< stop() asked
  bool mqtt_wake_ = false;             ///< wake() since the control thread last looked
  bool reconfigure_ = false;           ///< set_config() since it last looked
  bool mqtt_connected_ = false;        ///< the broker accepted the connection
  std::uint64_t mqtt_generation_ = 0;  ///< +1 on each connect and disconnect
  int mqtt_refused_rc_ = 0;            ///< CONNACK code of the latest connect (0: accepted)
  std::vector<int> acked_mids_;        ///< PUBACKs received, not yet handled
  std::map<std::pair<int, std::string>, std::int64_t> counts_;  ///< (port, label) -> count
  std::set<std::pair<int, std::string>> counts_dirty_;          ///< changed, not yet published
  std::thread control_thread_;                                  ///< joined by stop()

  // Owned by the control thread only (no lock): the client and what it has in flight.
  mosquitto* mosq_ = nullptr;
  MqttSettings mqtt_settings_;         ///< of mosq_
  bool mqtt_loop_running_ = false;     ///< mosquitto_loop_start() ran for mosq_
  double mqtt_retry_at_ = -1;          ///< steady seconds of the next connect try; < 0: none
  int mqtt_connect_failures_ = 0;      ///< failed first connects in a row
  std::uint64_t seen_generation_ = 0;  ///< mqtt_generation_ last handled
  struct Sent {
    std::int64_t outbox_id = 0;
    double at = 0;  ///< Unix seconds published
  };
  std::map<int, Sent> mid_to_row_;         ///< published, unacknowledged
  std::set<std::int64_t> mqtt_in_flight_;  ///< their outbox rows

  std::mutex stats_mutex_;  ///< guards stats_
  Stats stats_;             ///< counters (backing_off and mqtt_connected filled by stats())
};

}  // namespace fh::master
