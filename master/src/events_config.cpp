#include "events_config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include "event_types.hpp"
#include "tracker.hpp"

namespace fh::master {

namespace {

using nlohmann::json;

constexpr std::size_t k_max_secret_bytes = 4096;
constexpr std::size_t k_max_polygon_points = 64;
constexpr std::size_t k_max_name_chars = 64;
constexpr std::size_t k_max_label_chars = 64;

/// A location in the document: its JSON pointer (RFC 6901, the key of LineIndex) and how a
/// message names it ("rules[0].webhooks[1].url").
struct Where {
  std::string pointer;
  std::string display;

  Where key(const std::string& k) const {
    std::string escaped;
    for (char c : k) {
      if (c == '~') {
        escaped += "~0";
      } else if (c == '/') {
        escaped += "~1";
      } else {
        escaped += c;
      }
    }
    return {pointer + "/" + escaped, display.empty() ? k : display + "." + k};
  }
  Where index(std::size_t i) const {
    return {pointer + "/" + std::to_string(i), display + "[" + std::to_string(i) + "]"};
  }
  std::string name() const { return display.empty() ? "the top level" : display; }
};

/// The line of every value and every object key of a JSON text, by JSON pointer. Runs on text
/// nlohmann has already accepted, so it only has to tell strings, containers and scalars apart;
/// it also finds duplicate keys, which nlohmann accepts silently (the last wins).
class LineIndex {
 public:
  explicit LineIndex(const std::string& text) : text_(text) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // a UTF-8 BOM, as nlohmann skips
    skip_ws();
    value("");
  }
  /// Line (1-based) of the value at pointer, else of its nearest ancestor.
  int value_line(std::string pointer) const { return find(values_, std::move(pointer)); }
  /// Line of the key at pointer (the member's key), else of its value or an ancestor's.
  int key_line(const std::string& pointer) const {
    auto it = keys_.find(pointer);
    return it != keys_.end() ? it->second : value_line(pointer);
  }
  /// The first duplicate key met ("" pointer when none) and its line.
  const std::string& duplicate() const { return duplicate_; }
  int duplicate_line() const { return duplicate_line_; }

 private:
  static int find(const std::unordered_map<std::string, int>& m, std::string pointer) {
    for (;;) {
      auto it = m.find(pointer);
      if (it != m.end()) return it->second;
      if (pointer.empty()) return 1;
      pointer.erase(pointer.rfind('/'));
    }
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++pos_;
    }
  }
  /// The raw contents of the string at pos_ (escapes kept), pos_ after its closing quote.
  std::string raw_string() {
    std::size_t begin = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    std::string raw = text_.substr(begin, pos_ - begin);
    ++pos_;
    return raw;
  }
  static std::string decode(const std::string& raw) {
    if (raw.find('\\') == std::string::npos) return raw;
    return json::parse("\"" + raw + "\"").get<std::string>();
  }
  static std::string escape(const std::string& k) { return Where{}.key(k).pointer.substr(1); }
  void value(const std::string& pointer) {
    values_.emplace(pointer, line_);
    char c = peek();
    if (c == '{') {
      ++pos_;
      skip_ws();
      while (peek() == '"') {
        int key_line = line_;
        std::string child = pointer + "/" + escape(decode(raw_string()));
        if (!keys_.emplace(child, key_line).second && duplicate_.empty()) {
          duplicate_ = child;
          duplicate_line_ = key_line;
        }
        values_.erase(child);  // a duplicate: the last one is the value nlohmann keeps
        skip_ws();
        ++pos_;  // ':'
        skip_ws();
        value(child);
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          skip_ws();
        }
      }
      ++pos_;  // '}'
    } else if (c == '[') {
      ++pos_;
      skip_ws();
      for (std::size_t i = 0; peek() != ']' && pos_ < text_.size(); ++i) {
        value(pointer + "/" + std::to_string(i));
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          skip_ws();
        }
      }
      ++pos_;  // ']'
    } else if (c == '"') {
      raw_string();
    } else {
      while (pos_ < text_.size() && std::strchr(",]} \t\r\n", text_[pos_]) == nullptr) ++pos_;
    }
  }

  const std::string& text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::unordered_map<std::string, int> values_;
  std::unordered_map<std::string, int> keys_;
  std::string duplicate_;
  int duplicate_line_ = 0;
};

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

/// Checks the parsed document against the schema, building the config; every failure throws
/// ConfigError naming the line of the offending value.
class Checker {
 public:
  Checker(const std::string& text, const std::string& path) : path_(path), lines_(text) {
    dir_ = std::filesystem::path(path).parent_path();
    if (dir_.empty()) dir_ = ".";
  }

  std::shared_ptr<const EventsConfig> run(const json& doc) {
    if (!lines_.duplicate().empty()) {
      throw ConfigError(path_ + ":" + std::to_string(lines_.duplicate_line()) + ": duplicate key " +
                        in_quotes(last_key(lines_.duplicate())));
    }
    auto config = std::make_shared<EventsConfig>();
    config->path = path_;
    Where top;
    object(doc, top);
    known_keys(doc, top, {"mqtt", "zones", "rules", "delivery", "camera", "tracking", "retention"});
    if (doc.contains("mqtt")) mqtt(doc["mqtt"], top.key("mqtt"), config->mqtt);
    if (doc.contains("zones")) zones(doc["zones"], top.key("zones"), *config);
    if (doc.contains("delivery")) delivery(doc["delivery"], top.key("delivery"), config->delivery);
    if (doc.contains("camera")) camera(doc["camera"], top.key("camera"), config->camera);
    if (doc.contains("tracking")) {
      tracking(doc["tracking"], top.key("tracking"), config->tracking);
    }
    if (doc.contains("retention")) {
      config->retention = number(doc["retention"], top.key("retention"), 0, false);
    }
    if (doc.contains("rules")) {
      Where w = top.key("rules");
      const json& rules = array(doc["rules"], w);
      std::set<std::string> names;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        Rule r = rule(rules[i], w.index(i), *config);
        if (!names.insert(r.name).second) {
          fail(w.index(i).key("name"), "duplicate rule name " + in_quotes(r.name));
        }
        config->rules.push_back(std::move(r));
      }
    }
    return config;
  }

 private:
  static std::string last_key(const std::string& pointer) {
    std::string k = pointer.substr(pointer.rfind('/') + 1);
    std::string out;
    for (std::size_t i = 0; i < k.size(); ++i) {
      if (k[i] == '~' && i + 1 < k.size()) {
        out += k[++i] == '0' ? '~' : '/';
      } else {
        out += k[i];
      }
    }
    return out;
  }

  [[noreturn]] void fail(const Where& w, const std::string& message) const {
    throw ConfigError(path_ + ":" + std::to_string(lines_.value_line(w.pointer)) + ": " + w.name() +
                      ": " + message);
  }
  [[noreturn]] void fail_key(const Where& w, const std::string& message) const {
    throw ConfigError(path_ + ":" + std::to_string(lines_.key_line(w.pointer)) + ": " + message);
  }

  const json& object(const json& v, const Where& w) const {
    if (!v.is_object()) fail(w, "must be an object");
    return v;
  }
  const json& array(const json& v, const Where& w) const {
    if (!v.is_array()) fail(w, "must be an array");
    return v;
  }
  void known_keys(const json& obj, const Where& w, std::initializer_list<const char*> keys) const {
    for (const auto& item : obj.items()) {
      const std::string& k = item.key();
      bool known = std::any_of(keys.begin(), keys.end(), [&](const char* n) { return k == n; });
      if (known) continue;
      std::string list;
      for (const char* n : keys) list += std::string(list.empty() ? "" : ", ") + n;
      fail_key(w.key(k),
               "unknown key " + in_quotes(k) + " in " + w.name() + " (known: " + list + ")");
    }
  }
  const json& required(const json& obj, const Where& w, const char* key) const {
    if (!obj.contains(key)) fail(w, std::string("missing key ") + in_quotes(key));
    return obj[key];
  }

  std::string string(const json& v, const Where& w, bool allow_empty = false) const {
    if (!v.is_string()) fail(w, "must be a string");
    std::string s = v.get<std::string>();
    if (s.empty() && !allow_empty) fail(w, "must not be empty");
    return s;
  }
  bool boolean(const json& v, const Where& w) const {
    if (!v.is_boolean()) fail(w, "must be true or false");
    return v.get<bool>();
  }
  /// A number >= min (> min when !inclusive) and <= max.
  double number(const json& v, const Where& w, double min, bool inclusive,
                double max = std::numeric_limits<double>::max()) const {
    if (!v.is_number()) fail(w, "must be a number");
    double d = v.get<double>();
    if (!std::isfinite(d)) fail(w, "must be a finite number");
    std::ostringstream range;
    range << (inclusive ? ">= " : "> ") << min;
    if (max < std::numeric_limits<double>::max()) range << " and <= " << max;
    if (d < min || (!inclusive && d == min) || d > max) fail(w, "must be " + range.str());
    return d;
  }
  std::int64_t integer(const json& v, const Where& w, std::int64_t min, std::int64_t max) const {
    if (!v.is_number_integer()) fail(w, "must be an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      fail(w, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    std::int64_t i = v.get<std::int64_t>();
    if (i < min || i > max) {
      fail(w, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return i;
  }
  int port(const json& v, const Where& w) const {
    return static_cast<int>(integer(v, w, 1, 65535));
  }
  std::string name(const json& v, const Where& w) const {
    std::string s = string(v, w);
    if (s.size() > k_max_name_chars) fail(w, "longer than 64 characters");
    for (char c : s) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-';
      if (!ok) fail(w, in_quotes(s) + ": a name has only the characters A-Z a-z 0-9 _ . -");
    }
    return s;
  }

  std::string resolve(const std::string& file) const {
    std::filesystem::path p(file);
    return (p.is_absolute() ? p : dir_ / p).lexically_normal().string();
  }
  /// A file that must exist (a CA bundle); its resolved path.
  std::string existing_file(const json& v, const Where& w) const {
    std::string resolved = resolve(string(v, w));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(resolved, ec)) fail(w, "no such file: " + resolved);
    return resolved;
  }
  /// A secret's file: its resolved path and contents (trailing CR/LF removed), read now.
  std::pair<std::string, std::string> secret_file(const json& v, const Where& w) const {
    std::string resolved = resolve(string(v, w));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(resolved, ec)) {
      fail(w, "cannot read " + resolved + ": not a regular file");
    }
    std::ifstream in(resolved, std::ios::binary);
    if (!in) fail(w, "cannot read " + resolved + ": " + std::strerror(errno));
    std::string s(k_max_secret_bytes + 1, '\0');
    in.read(s.data(), static_cast<std::streamsize>(s.size()));
    if (in.bad()) fail(w, "cannot read " + resolved);
    s.resize(static_cast<std::size_t>(in.gcount()));
    if (s.size() > k_max_secret_bytes) fail(w, resolved + " is larger than 4 KiB");
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) fail(w, resolved + " is empty");
    return {resolved, s};
  }

  void mqtt(const json& v, const Where& w, MqttSettings& m) const {
    object(v, w);
    known_keys(v, w,
               {"host", "port", "client_id", "username", "password_file", "tls", "ca_file",
                "topic_prefix", "keepalive"});
    m.enabled = true;
    if (v.contains("host")) m.host = string(v["host"], w.key("host"));
    if (v.contains("port")) m.port = port(v["port"], w.key("port"));
    if (v.contains("client_id")) {
      m.client_id = string(v["client_id"], w.key("client_id"));
      if (m.client_id.size() > 256) fail(w.key("client_id"), "longer than 256 characters");
    }
    if (v.contains("username")) m.username = string(v["username"], w.key("username"));
    if (v.contains("password_file")) {
      std::tie(m.password_file, m.password) =
          secret_file(v["password_file"], w.key("password_file"));
    }
    if (v.contains("tls")) m.tls = boolean(v["tls"], w.key("tls"));
    if (v.contains("ca_file")) m.ca_file = existing_file(v["ca_file"], w.key("ca_file"));
    if (v.contains("topic_prefix")) {
      Where tw = w.key("topic_prefix");
      m.topic_prefix = string(v["topic_prefix"], tw);
      if (m.topic_prefix.find_first_of(std::string("+#\0", 3)) != std::string::npos) {
        fail(tw, "must not contain + # or NUL (MQTT wildcards)");
      }
      if (m.topic_prefix.front() == '/' || m.topic_prefix.back() == '/') {
        fail(tw, "must not begin or end with /");
      }
    }
    if (v.contains("keepalive")) {
      m.keepalive = static_cast<int>(integer(v["keepalive"], w.key("keepalive"), 0, 65535));
    }
  }

  void zones(const json& v, const Where& w, EventsConfig& config) const {
    object(v, w);
    for (const auto& [key, list] : v.items()) {
      Where pw = w.key(key);
      bool digits =
          !key.empty() && key.size() <= 5 &&
          std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
      int p = digits ? std::stoi(key) : 0;
      if (p < 1 || p > 65535 || key[0] == '0') {
        fail_key(pw, "zones: " + in_quotes(key) + " is not a port (1..65535)");
      }
      array(list, pw);
      std::vector<Zone>& out = config.zones[p];
      for (std::size_t i = 0; i < list.size(); ++i) {
        Where zw = pw.index(i);
        const json& z = object(list[i], zw);
        known_keys(z, zw, {"name", "polygon", "leave_after"});
        Zone zone;
        zone.name = name(required(z, zw, "name"), zw.key("name"));
        for (const Zone& other : out) {
          if (other.name == zone.name) {
            fail(zw.key("name"), "duplicate zone name " + in_quotes(zone.name) + " on port " + key);
          }
        }
        zone.polygon = polygon(required(z, zw, "polygon"), zw.key("polygon"));
        if (z.contains("leave_after")) {
          zone.leave_after = number(z["leave_after"], zw.key("leave_after"), 0, true, 3600);
        }
        out.push_back(std::move(zone));
      }
    }
  }

  std::vector<Point> polygon(const json& v, const Where& w) const {
    array(v, w);
    if (v.size() < 3) fail(w, "a polygon needs at least 3 points");
    if (v.size() > k_max_polygon_points) fail(w, "a polygon has at most 64 points");
    std::vector<Point> points;
    for (std::size_t i = 0; i < v.size(); ++i) {
      Where pw = w.index(i);
      if (!v[i].is_array() || v[i].size() != 2) fail(pw, "a point is [x, y]");
      Point p;
      p.x = number(v[i][0], pw.index(0), 0, true, 1);
      p.y = number(v[i][1], pw.index(1), 0, true, 1);
      points.push_back(p);
    }
    double area2 = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const Point& a = points[i];
      const Point& b = points[(i + 1) % points.size()];
      area2 += a.x * b.y - b.x * a.y;
    }
    if (area2 == 0) fail(w, "the polygon has no area");
    return points;
  }

  void delivery(const json& v, const Where& w, DeliverySettings& d) const {
    object(v, w);
    known_keys(
        v, w,
        {"max_age", "max_pending", "backoff_initial", "backoff_max", "webhook_timeout", "ca_file"});
    if (v.contains("max_age")) d.max_age = number(v["max_age"], w.key("max_age"), 0, false);
    if (v.contains("max_pending")) {
      d.max_pending =
          static_cast<std::size_t>(integer(v["max_pending"], w.key("max_pending"), 1, 100000000));
    }
    if (v.contains("backoff_initial")) {
      d.backoff_initial = number(v["backoff_initial"], w.key("backoff_initial"), 0, false);
    }
    if (v.contains("backoff_max")) {
      d.backoff_max = number(v["backoff_max"], w.key("backoff_max"), 0, false);
    }
    if (d.backoff_max < d.backoff_initial) {
      fail(w.key(v.contains("backoff_max") ? "backoff_max" : "backoff_initial"),
           "backoff_max must be >= backoff_initial");
    }
    if (v.contains("webhook_timeout")) {
      d.webhook_timeout = number(v["webhook_timeout"], w.key("webhook_timeout"), 0, false);
    }
    if (v.contains("ca_file")) d.ca_file = existing_file(v["ca_file"], w.key("ca_file"));
  }

  void camera(const json& v, const Where& w, CameraHealthSettings& c) const {
    object(v, w);
    known_keys(v, w, {"loss_threshold", "loss_window"});
    if (v.contains("loss_threshold")) {
      c.loss_threshold = number(v["loss_threshold"], w.key("loss_threshold"), 0, true, 1);
    }
    if (v.contains("loss_window")) {
      c.loss_window = number(v["loss_window"], w.key("loss_window"), 0, false);
    }
  }

  void tracking(const json& v, const Where& w, TrackingSettings& t) const {
    object(v, w);
    known_keys(v, w,
               {"iou_threshold", "confirm_hits", "confirm_window", "end_after", "stationary_after",
                "stationary_max_motion", "stationary_end_after"});
    auto seconds = [&](const char* key, std::optional<double>& out) {
      if (v.contains(key)) out = number(v[key], w.key(key), 0, false, 7 * 86400);
    };
    if (v.contains("iou_threshold")) {
      t.iou_threshold = number(v["iou_threshold"], w.key("iou_threshold"), 0, false, 1);
    }
    if (v.contains("confirm_hits")) {
      t.confirm_hits = static_cast<int>(integer(v["confirm_hits"], w.key("confirm_hits"), 1, 100));
    }
    if (v.contains("confirm_window")) {
      t.confirm_window =
          static_cast<int>(integer(v["confirm_window"], w.key("confirm_window"), 1, 100));
    }
    seconds("end_after", t.end_after);
    seconds("stationary_after", t.stationary_after);
    if (v.contains("stationary_max_motion")) {
      t.stationary_max_motion =
          number(v["stationary_max_motion"], w.key("stationary_max_motion"), 0, false, 1);
    }
    seconds("stationary_end_after", t.stationary_end_after);
    // The pairs that must agree, with the tracker's defaults for what the file leaves out.
    const TrackerConfig d;
    const int hits = t.confirm_hits.value_or(d.confirm_hits);
    const int window = t.confirm_window.value_or(d.confirm_window);
    if (hits > window) {
      fail(w.key(t.confirm_hits ? "confirm_hits" : "confirm_window"),
           "confirm_hits (" + std::to_string(hits) + ") must be <= confirm_window (" +
               std::to_string(window) + ")");
    }
    const double end = t.end_after.value_or(d.end_after_s);
    const double parked = t.stationary_end_after.value_or(d.stationary_end_after_s);
    if (parked < end) {
      std::ostringstream m;
      m << "stationary_end_after (" << parked << ") must be >= end_after (" << end << ")";
      fail(w.key(t.stationary_end_after ? "stationary_end_after" : "end_after"), m.str());
    }
  }

  Rule rule(const json& v, const Where& w, const EventsConfig& config) const {
    object(v, w);
    known_keys(v, w,
               {"name", "ports", "labels", "types", "min_confidence", "zones", "min_duration",
                "cooldown", "ignore_stationary", "webhooks", "mqtt"});
    Rule r;
    r.name = name(required(v, w, "name"), w.key("name"));
    if (v.contains("ports")) {
      Where pw = w.key("ports");
      for (std::size_t i = 0; i < array(v["ports"], pw).size(); ++i) {
        r.ports.push_back(port(v["ports"][i], pw.index(i)));
      }
    }
    if (v.contains("labels")) {
      Where lw = w.key("labels");
      for (std::size_t i = 0; i < array(v["labels"], lw).size(); ++i) {
        std::string label = string(v["labels"][i], lw.index(i));
        if (label.size() > k_max_label_chars) fail(lw.index(i), "longer than 64 characters");
        r.labels.push_back(std::move(label));
      }
    }
    if (v.contains("types")) {
      Where tw = w.key("types");
      for (std::size_t i = 0; i < array(v["types"], tw).size(); ++i) {
        std::string type = string(v["types"][i], tw.index(i));
        if (!event_type::known_type_pattern(type)) {
          fail(tw.index(i), "unknown event type " + in_quotes(type) +
                                " (object.start, object.zone_enter, object.zone_leave, "
                                "object.stationary, object.end, camera.stalled, "
                                "camera.recovered, camera.loss, detector.unavailable, "
                                "detector.fallback, detector.restored, worker.dead, worker.back, "
                                "or object.* camera.* detector.* "
                                "worker.*)");
        }
        r.types.push_back(std::move(type));
      }
    }
    if (v.contains("min_confidence")) {
      r.min_confidence = number(v["min_confidence"], w.key("min_confidence"), 0, true, 1);
    }
    if (v.contains("zones")) {
      Where zw = w.key("zones");
      for (std::size_t i = 0; i < array(v["zones"], zw).size(); ++i) {
        std::string zone = name(v["zones"][i], zw.index(i));
        if (!zone_defined(config, r.ports, zone)) {
          fail(zw.index(i), "zone " + in_quotes(zone) + " is not defined on " +
                                (r.ports.empty() ? "any port" : "a port of the rule"));
        }
        r.zones.push_back(std::move(zone));
      }
    }
    if (v.contains("min_duration")) {
      r.min_duration = number(v["min_duration"], w.key("min_duration"), 0, true);
    }
    if (v.contains("cooldown")) r.cooldown = number(v["cooldown"], w.key("cooldown"), 0, true);
    if (v.contains("ignore_stationary")) {
      r.ignore_stationary = boolean(v["ignore_stationary"], w.key("ignore_stationary"));
    }
    if (v.contains("webhooks")) {
      Where hw = w.key("webhooks");
      for (std::size_t i = 0; i < array(v["webhooks"], hw).size(); ++i) {
        r.webhooks.push_back(webhook(v["webhooks"][i], hw.index(i)));
      }
    }
    if (v.contains("mqtt")) {
      r.mqtt = boolean(v["mqtt"], w.key("mqtt"));
      if (r.mqtt && !config.mqtt.enabled) {
        fail(w.key("mqtt"), "true, but the file has no top-level \"mqtt\" section");
      }
    }
    return r;
  }

  static bool zone_defined(const EventsConfig& config, const std::vector<int>& ports,
                           const std::string& zone) {
    for (const auto& [p, list] : config.zones) {
      if (!ports.empty() && std::find(ports.begin(), ports.end(), p) == ports.end()) continue;
      for (const Zone& z : list) {
        if (z.name == zone) return true;
      }
    }
    return false;
  }

  WebhookAction webhook(const json& v, const Where& w) const {
    object(v, w);
    known_keys(v, w, {"url", "secret_file"});
    WebhookAction a;
    Where uw = w.key("url");
    a.url = string(required(v, w, "url"), uw);
    std::string lower = a.url;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t scheme = lower.rfind("http://", 0) == 0    ? 7
                         : lower.rfind("https://", 0) == 0 ? 8
                                                           : 0;
    if (scheme == 0) fail(uw, in_quotes(a.url) + " is not an http:// or https:// URL");
    if (a.url.size() == scheme || a.url[scheme] == '/' ||
        a.url.find_first_of(" \t\r\n") != std::string::npos) {
      fail(uw, in_quotes(a.url) + " has no host or contains white space");
    }
    if (v.contains("secret_file")) {
      std::tie(a.secret_file, a.secret) = secret_file(v["secret_file"], w.key("secret_file"));
    }
    return a;
  }

  const std::string& path_;
  LineIndex lines_;
  std::filesystem::path dir_;
};

int line_of_byte(const std::string& text, std::size_t byte) {
  std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + end, '\n'));
}

}  // namespace

std::shared_ptr<const EventsConfig> parse_events_config(const std::string& text,
                                                        const std::string& path) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 3, column 5: syntax ...";
    // keep what follows the position.
    std::string what = e.what();
    std::size_t colon = what.find(": ", what.find("parse error"));
    std::string message = colon == std::string::npos ? what : what.substr(colon + 2);
    throw ConfigError(path + ":" + std::to_string(line_of_byte(text, e.byte)) +
                      ": invalid JSON: " + message);
  } catch (const json::exception& e) {
    // A number too large for a double ("number overflow parsing '1e999'"): no position is
    // given, the line of the first such literal is.
    std::string what = e.what();
    std::size_t open = what.find('\'');
    std::size_t close = open == std::string::npos ? open : what.find('\'', open + 1);
    std::size_t at = close == std::string::npos
                         ? std::string::npos
                         : text.find(what.substr(open + 1, close - open - 1));
    std::size_t bracket = what.find("] ");
    throw ConfigError(
        path + ":" + std::to_string(at == std::string::npos ? 1 : line_of_byte(text, at + 1)) +
        ": invalid JSON: " + (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
  return Checker(text, path).run(doc);
}

std::shared_ptr<const EventsConfig> load_events_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read");
  return parse_events_config(text.str(), path);
}

}  // namespace fh::master
