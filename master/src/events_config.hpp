#pragma once
// The --events-config file (docs/events.md): zones per port, rules, MQTT and delivery settings.
// parse_events_config() checks a whole file and throws ConfigError naming the line; the result
// is immutable and shared (std::shared_ptr<const EventsConfig>) so SIGHUP can swap it.

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fh::master {

/// A bad events config: what() is "FILE:LINE: message" (LINE of the offending value).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A point in normalized frame coordinates (0..1, origin top left).
struct Point {
  double x = 0, y = 0;
};

struct Zone {
  std::string name;
  std::vector<Point> polygon;  ///< at least 3 points, normalized
  /// A track has left the zone once its reference point has been outside for this long (on
  /// at least two updates); a return inside before that cancels the leave. 0: at once.
  double leave_after = 1.0;
};

struct WebhookAction {
  std::string url;  ///< http:// or https://
  std::string
      secret_file;     ///< HMAC key file (resolved against the config's directory); empty: unsigned
  std::string secret;  ///< its contents (trailing newline removed), read when parsed
};

struct Rule {
  std::string name;                 ///< unique
  std::vector<int> ports;           ///< empty: every port
  std::vector<std::string> labels;  ///< empty: every label
  /// Event types delivered, exact ("object.start") or by prefix ("camera.*"). Default: the
  /// object events object.start, object.zone_enter, object.zone_leave, object.end.
  std::vector<std::string> types;
  double min_confidence = 0;       ///< the track's best confidence must reach it
  std::vector<std::string> zones;  ///< empty: anywhere; else object events only inside these
  double min_duration = 0;         ///< seconds a track must exist before it is delivered
  double cooldown = 0;             ///< seconds after a delivered object.start of a port+label
  bool ignore_stationary = true;   ///< stationary tracks deliver nothing after their start
  std::vector<WebhookAction> webhooks;
  bool mqtt = false;  ///< publish to framehive/<port>/events
};

struct MqttSettings {
  bool enabled = false;  ///< an "mqtt" section is present
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id = "framehive-master";
  std::string username;
  std::string password;  ///< read from password_file
  std::string password_file;
  bool tls = false;
  std::string ca_file;  ///< TLS CA (PEM); empty: system CAs
  std::string topic_prefix = "framehive";
  int keepalive = 30;  ///< seconds
};

/// Delivery bounds of the outbox (docs/events.md "Delivery").
struct DeliverySettings {
  double max_age = 86400;  ///< seconds an undelivered item is retried before it is dropped
  std::size_t max_pending = 100000;  ///< undelivered items kept; the oldest dropped beyond
  double backoff_initial = 1;        ///< seconds before the first retry
  double backoff_max = 300;          ///< cap of the exponential backoff
  double webhook_timeout = 5;        ///< seconds per POST
  std::string ca_file;               ///< CA (PEM) for https webhooks; empty: system CAs
};

/// Thresholds of the camera.* events (stalled uses the master's --stall-after).
struct CameraHealthSettings {
  double loss_threshold = 0.2;  ///< camera.loss: incomplete / all frames over the window above it
  double loss_window = 60;      ///< seconds
};

/// The "tracking" section: the tracker parameters the file sets (tracker.hpp TrackerConfig);
/// unset ones keep the master's values. Applied at start and on every reload.
struct TrackingSettings {
  std::optional<double> iou_threshold;
  std::optional<int> confirm_hits;
  std::optional<int> confirm_window;
  std::optional<double> end_after;
  std::optional<double> stationary_after;
  std::optional<double> stationary_max_motion;
  std::optional<double> stationary_end_after;
};

struct EventsConfig {
  std::string path;                        ///< the file it came from (empty: built in, no file)
  std::map<int, std::vector<Zone>> zones;  ///< per port
  std::vector<Rule> rules;
  MqttSettings mqtt;
  DeliverySettings delivery;
  CameraHealthSettings camera;
  TrackingSettings tracking;
  double retention = 7 * 86400;  ///< seconds events and their snapshots are kept
};

/// Parses and checks a config (text is the file's contents, path is used in messages and to
/// resolve secret_file/password_file/ca_file relative to the file's directory). Throws
/// ConfigError ("path:line: message") for bad JSON, unknown keys, wrong types, ranges,
/// polygons with fewer than 3 points or outside 0..1, duplicate names, unreadable secret files.
std::shared_ptr<const EventsConfig> parse_events_config(const std::string& text,
                                                        const std::string& path);
/// Reads the file and parses it; throws ConfigError when it cannot be read.
std::shared_ptr<const EventsConfig> load_events_config(const std::string& path);

}  // namespace fh::master
