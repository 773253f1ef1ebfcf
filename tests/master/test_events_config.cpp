// The --events-config parser (master/src/events_config.*): the minimal documented file, defaults,
// every class of error with the exact line it names, relative secret paths, loading and reloading.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "event_types.hpp"
#include "events_config.hpp"
#include "test_util.hpp"

namespace {

using fh::master::ConfigError;
using fh::master::EventsConfig;
using fh::master::load_events_config;
using fh::master::parse_events_config;

const char* const k_minimal = R"({"mqtt": {"host": "127.0.0.1", "port": 1883},
 "zones": {"5000": [{"name": "path", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]},
 "rules": [{"name": "people", "ports": [5000], "labels": ["person"], "min_confidence": 0.5,
            "webhooks": [{"url": "http://127.0.0.1:9000/hook", "secret_file": "hook.secret"}],
            "mqtt": true}]}
)";

void write(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  BOOST_REQUIRE(out.good());
}

/// A temporary directory with hook.secret in it; configs are parsed as DIR/events.json.
struct Dir {
  std::string dir = fh::test::make_temp_dir("events-config");
  std::string path = dir + "/events.json";
  Dir() { write(dir + "/hook.secret", "s3cret\n"); }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::shared_ptr<const EventsConfig> parse(const std::string& text) const {
    return parse_events_config(text, path);
  }
  /// Parsing text fails with "PATH:LINE: ..." whose message contains part.
  void fails(const std::string& text, int line, const std::string& part) const {
    std::string what;
    try {
      parse(text);
    } catch (const ConfigError& e) {
      what = e.what();
    }
    BOOST_TEST_INFO("error: " << what);
    std::string prefix = path + ":" + std::to_string(line) + ": ";
    BOOST_TEST(what.substr(0, prefix.size()) == prefix);
    BOOST_TEST(what.find(part) != std::string::npos);
  }
};

/// A rule of port 5000 on its own lines: the key at line 4 of the text is `line4`.
std::string rule_with(const std::string& line4) {
  return "{\n"
         "  \"rules\": [{\n"
         "    \"name\": \"r\",\n" +
         line4 +
         "\n"
         "  }]\n"
         "}\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(events_config)

BOOST_AUTO_TEST_CASE(the_minimal_documented_file_is_accepted_with_its_values_and_defaults) {
  Dir d;
  auto c = d.parse(k_minimal);
  BOOST_TEST(c->path == d.path);
  BOOST_TEST(c->mqtt.enabled);
  BOOST_TEST(c->mqtt.host == "127.0.0.1");
  BOOST_TEST(c->mqtt.port == 1883);
  BOOST_TEST(c->mqtt.client_id == "framehive-master");
  BOOST_TEST(c->mqtt.topic_prefix == "framehive");
  BOOST_TEST(c->mqtt.keepalive == 30);
  BOOST_TEST(!c->mqtt.tls);
  BOOST_REQUIRE(c->zones.count(5000) == 1u);
  BOOST_REQUIRE(c->zones.at(5000).size() == 1u);
  const auto& zone = c->zones.at(5000)[0];
  BOOST_TEST(zone.name == "path");
  BOOST_REQUIRE(zone.polygon.size() == 4u);
  BOOST_TEST(zone.polygon[1].x == 1.0);
  BOOST_TEST(zone.polygon[1].y == 0.5);
  BOOST_TEST(zone.leave_after == 1.0);
  BOOST_REQUIRE(c->rules.size() == 1u);
  const auto& r = c->rules[0];
  BOOST_TEST(r.name == "people");
  BOOST_TEST(r.ports == std::vector<int>{5000});
  BOOST_TEST(r.labels == std::vector<std::string>{"person"});
  BOOST_TEST(r.types.empty());
  BOOST_TEST(r.min_confidence == 0.5);
  BOOST_TEST(r.min_duration == 0.0);
  BOOST_TEST(r.cooldown == 0.0);
  BOOST_TEST(r.ignore_stationary);
  BOOST_TEST(r.mqtt);
  BOOST_REQUIRE(r.webhooks.size() == 1u);
  BOOST_TEST(r.webhooks[0].url == "http://127.0.0.1:9000/hook");
  BOOST_TEST(r.webhooks[0].secret_file == d.dir + "/hook.secret");
  BOOST_TEST(r.webhooks[0].secret == "s3cret");  // trailing newline removed
  BOOST_TEST(c->delivery.max_age == 86400.0);
  BOOST_TEST(c->delivery.max_pending == 100000u);
  BOOST_TEST(c->camera.loss_threshold == 0.2);
  BOOST_TEST(c->retention == 7 * 86400.0);
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
  Dir d;
  write(d.dir + "/ca.pem", "-----BEGIN CERTIFICATE-----\n");
  write(d.dir + "/mqtt.pw", "pw\r\n");
  auto c = d.parse(R"({
    "mqtt": {"host": "broker", "port": 8883, "client_id": "fh1", "username": "u",
             "password_file": "mqtt.pw", "tls": true, "ca_file": "ca.pem",
             "topic_prefix": "site/a", "keepalive": 60},
    "zones": {"5000": [{"name": "a", "polygon": [[0, 0], [0.5, 0], [0.5, 1]]}],
              "5001": [{"name": "a", "polygon": [[0, 0], [1, 0], [1, 1]]}]},
    "rules": [{"name": "r.1", "ports": [5000, 5001], "labels": ["car", "traffic light"],
               "types": ["object.*", "camera.stalled"], "min_confidence": 0,
               "zones": ["a"], "min_duration": 2.5, "cooldown": 60,
               "ignore_stationary": false, "webhooks": [], "mqtt": false}],
    "delivery": {"max_age": 3600, "max_pending": 10, "backoff_initial": 2, "backoff_max": 20,
                 "webhook_timeout": 3, "ca_file": "ca.pem"},
    "camera": {"loss_threshold": 0.5, "loss_window": 30},
    "retention": 86400
  })");
  BOOST_TEST(c->mqtt.host == "broker");
  BOOST_TEST(c->mqtt.port == 8883);
  BOOST_TEST(c->mqtt.client_id == "fh1");
  BOOST_TEST(c->mqtt.username == "u");
  BOOST_TEST(c->mqtt.password == "pw");
  BOOST_TEST(c->mqtt.password_file == d.dir + "/mqtt.pw");
  BOOST_TEST(c->mqtt.tls);
  BOOST_TEST(c->mqtt.ca_file == d.dir + "/ca.pem");
  BOOST_TEST(c->mqtt.topic_prefix == "site/a");
  BOOST_TEST(c->mqtt.keepalive == 60);
  BOOST_TEST(c->zones.size() == 2u);
  const auto& r = c->rules.at(0);
  BOOST_TEST(r.types == (std::vector<std::string>{"object.*", "camera.stalled"}));
  BOOST_TEST(r.zones == std::vector<std::string>{"a"});
  BOOST_TEST(r.min_duration == 2.5);
  BOOST_TEST(r.cooldown == 60.0);
  BOOST_TEST(!r.ignore_stationary);
  BOOST_TEST(r.labels.at(1) == "traffic light");
  BOOST_TEST(c->delivery.max_age == 3600.0);
  BOOST_TEST(c->delivery.max_pending == 10u);
  BOOST_TEST(c->delivery.backoff_initial == 2.0);
  BOOST_TEST(c->delivery.backoff_max == 20.0);
  BOOST_TEST(c->delivery.webhook_timeout == 3.0);
  BOOST_TEST(c->delivery.ca_file == d.dir + "/ca.pem");
  BOOST_TEST(c->camera.loss_threshold == 0.5);
  BOOST_TEST(c->camera.loss_window == 30.0);
  BOOST_TEST(c->retention == 86400.0);
  // An empty file section-wise: no mqtt.
  BOOST_TEST(!d.parse("{}")->mqtt.enabled);
}

BOOST_AUTO_TEST_CASE(invalid_json_names_the_line_of_the_syntax_error) {
  Dir d;
  d.fails("{\n  \"rules\": [\n    {\"name\": \"a\",}\n  ]\n}\n", 3, "invalid JSON");
  d.fails("{\n  \"retention\": 5\n", 3, "invalid JSON");  // unexpected end, after the last \n
  d.fails("", 1, "invalid JSON");
  d.fails("[1, 2]", 1, "must be an object");
  d.fails("{\n\"retention\":\n  1e999}", 3, "invalid JSON: number overflow");
}

BOOST_AUTO_TEST_CASE(unknown_and_duplicate_keys_name_their_line) {
  Dir d;
  d.fails("{\n  \"retention\": 5,\n  \"retension\": 6\n}\n", 3, "unknown key \"retension\"");
  d.fails(rule_with("    \"min_confidance\": 0.5"), 4,
          "unknown key \"min_confidance\" in rules[0]");
  d.fails("{\n\"mqtt\": {\n \"host\": \"h\",\n \"qos\": 1}}", 4, "unknown key \"qos\" in mqtt");
  d.fails("{\"delivery\": {\n\"max_agee\": 1}}", 2, "unknown key \"max_agee\"");
  d.fails("{\"camera\": {\"loss\": 1}}", 1, "unknown key \"loss\"");
  d.fails("{\"zones\": {\"1\": [{\"name\": \"a\",\n \"points\": []}]}}", 2,
          "unknown key \"points\"");
  d.fails(rule_with("    \"webhooks\": [{\"url\": \"http://h/\",\n \"secret\": \"x\"}]"), 5,
          "unknown key \"secret\" in rules[0].webhooks[0]");
  d.fails("{\n  \"retention\": 5,\n  \"retention\": 6\n}\n", 3, "duplicate key \"retention\"");
  d.fails("{\"rules\": [{\"name\": \"a\"}, {\"name\": \"b\",\n\"ports\": [], \"ports\": [1]}]}", 2,
          "duplicate key \"ports\"");
  // Escapes in keys and strings do not confuse the line index.
  auto c =
      d.parse("{\"rules\": [{\"name\": \"a\", \"l\\u0061bels\": [\"x\\\"}]\\\\\", \"y\\n\"]}]}");
  BOOST_TEST(c->rules.at(0).labels == (std::vector<std::string>{"x\"}]\\", "y\n"}));
  d.fails("{\"rules\": [{\"name\": \"a\", \"labels\": [\"x\\\"}]\\\\\"],\r\n \"l\\u0061bel\": 1}]}",
          2, "unknown key \"label\"");
  // The line of the key, not of its value.
  d.fails("{\n\"zonez\":\n {}}", 2, "unknown key \"zonez\"");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_line_of_the_value) {
  Dir d;
  d.fails(rule_with("    \"ports\": \"5000\""), 4, "rules[0].ports: must be an array");
  d.fails(rule_with("    \"ports\": [5000.5]"), 4, "must be an integer");
  d.fails(rule_with("    \"min_confidence\": \"0.5\""), 4, "must be a number");
  d.fails(rule_with("    \"mqtt\": 1"), 4, "must be true or false");
  d.fails(rule_with("    \"labels\": [\"person\", 3]"), 4, "rules[0].labels[1]: must be a string");
  d.fails(rule_with("    \"labels\": [\"\"]"), 4, "must not be empty");
  d.fails("{\n\"rules\": {}\n}", 2, "rules: must be an array");
  d.fails("{\"rules\": [\n{\"ports\": [1]}]}", 2, "rules[0]: missing key \"name\"");
  d.fails("{\"mqtt\": {\"port\":\n \"1883\"}}", 2, "mqtt.port: must be an integer");
}

BOOST_AUTO_TEST_CASE(out_of_range_values_name_the_line_of_the_value) {
  Dir d;
  d.fails("{\"rules\": [{\"name\": \"a\", \"ports\": [\n  5000,\n  70000\n]}]}", 3,
          "rules[0].ports[1]: must be between 1 and 65535");
  d.fails(rule_with("    \"ports\": [0]"), 4, "between 1 and 65535");
  d.fails(rule_with("    \"min_confidence\": 1.5"), 4, "rules[0].min_confidence: must be >= 0");
  d.fails(rule_with("    \"min_confidence\": -0.1"), 4, "min_confidence");
  d.fails(rule_with("    \"cooldown\": -1"), 4, "rules[0].cooldown: must be >= 0");
  d.fails(rule_with("    \"min_duration\": -0.5"), 4, "rules[0].min_duration");
  d.fails("{\"mqtt\": {\n\"port\": 65536}}", 2, "mqtt.port: must be between 1 and 65535");
  d.fails("{\"mqtt\": {\"keepalive\": -1}}", 1, "mqtt.keepalive");
  d.fails("{\"mqtt\": {\"topic_prefix\":\n \"a/#\"}}", 2, "MQTT wildcards");
  d.fails("{\"delivery\": {\n\"max_age\": 0}}", 2, "delivery.max_age: must be > 0");
  d.fails("{\"delivery\": {\"max_pending\": 0}}", 1, "delivery.max_pending");
  d.fails("{\"delivery\": {\"backoff_initial\": 10,\n \"backoff_max\": 5}}", 2,
          "backoff_max must be >= backoff_initial");
  d.fails("{\"camera\": {\n\n\"loss_threshold\": 2}}", 3, "camera.loss_threshold");
  d.fails("{\n\"retention\": -1}", 2, "retention: must be > 0");
}

BOOST_AUTO_TEST_CASE(bad_zones_and_polygons_name_their_line) {
  Dir d;
  auto zone = [](const std::string& key, const std::string& polygon) {
    return "{\"zones\": {\n\"" + key + "\": [{\"name\": \"z\",\n \"polygon\": " + polygon + "}]}}";
  };
  d.fails(zone("5000", "[[0, 0], [1, 0]]"), 3, "at least 3 points");
  d.fails(zone("5000", "[[0, 0],\n [1.5, 0], [1, 1]]"), 4, "zones.5000[0].polygon[1][0]");
  d.fails(zone("5000", "[[0, 0], [1, 0], [1, -0.1]]"), 3, "polygon[2][1]: must be >= 0");
  d.fails(zone("5000", "[[0, 0], [1, 0], [1]]"), 3, "a point is [x, y]");
  d.fails(zone("5000", "[[0, 0], [0.5, 0.5], [1, 1]]"), 3, "no area");
  std::string many = "[";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "[0.5, 0.5]";
  d.fails(zone("5000", many + "]"), 3, "at most 64 points");
  std::string sixty_four = "[[0, 0], [1, 0]";
  for (int i = 0; i < 62; ++i) sixty_four += ", [1, 1]";
  BOOST_CHECK_NO_THROW(d.parse(zone("5000", sixty_four + "]")));
  d.fails(zone("cam1", "[[0, 0], [1, 0], [1, 1]]"), 2, "\"cam1\" is not a port");
  d.fails(zone("70000", "[[0, 0], [1, 0], [1, 1]]"), 2, "is not a port");
  d.fails(
      "{\"zones\": {\"5000\": [{\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]]},\n"
      "  {\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]]}]}}",
      2, "duplicate zone name \"z\" on port 5000");
  d.fails(
      "{\"zones\": {\"5000\": [{\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]],\n"
      "  \"leave_after\": -1}]}}",
      2, "zones.5000[0].leave_after: must be >= 0");
  auto c = d.parse(
      "{\"zones\": {\"5000\": [{\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]],"
      " \"leave_after\": 0}]}}");
  BOOST_TEST(c->zones.at(5000).at(0).leave_after == 0.0);
  // The same name on two ports is fine.
  BOOST_CHECK_NO_THROW(
      d.parse("{\"zones\": {\"1\": [{\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]]}],"
              " \"2\": [{\"name\": \"z\", \"polygon\": [[0, 0], [1, 0], [1, 1]]}]}}"));
}

BOOST_AUTO_TEST_CASE(the_tracking_section_sets_only_what_it_names_and_checks_its_pairs) {
  Dir d;
  auto c = d.parse(
      "{\"tracking\": {\"confirm_hits\": 2, \"confirm_window\": 4, \"end_after\": 5,\n"
      " \"stationary_after\": 30, \"stationary_max_motion\": 0.1,\n"
      " \"stationary_end_after\": 600, \"iou_threshold\": 0.3}}");
  BOOST_TEST(*c->tracking.confirm_hits == 2);
  BOOST_TEST(*c->tracking.confirm_window == 4);
  BOOST_TEST(*c->tracking.end_after == 5.0);
  BOOST_TEST(*c->tracking.stationary_after == 30.0);
  BOOST_TEST(*c->tracking.stationary_max_motion == 0.1);
  BOOST_TEST(*c->tracking.stationary_end_after == 600.0);
  BOOST_TEST(*c->tracking.iou_threshold == 0.3);
  c = d.parse("{\"tracking\": {\"stationary_after\": 4}}");
  BOOST_TEST(!c->tracking.end_after.has_value());
  BOOST_TEST(!d.parse("{}")->tracking.stationary_after.has_value());
  d.fails("{\"tracking\": {\n\"confirm_hits\": 7}}", 2,
          "tracking.confirm_hits: confirm_hits (7) must be <= confirm_window (5)");
  d.fails("{\"tracking\": {\"confirm_hits\": 2,\n\"confirm_window\": 1}}", 1,
          "confirm_hits (2) must be <= confirm_window (1)");
  d.fails("{\"tracking\": {\n\"end_after\": 200}}", 2,
          "stationary_end_after (120) must be >= end_after (200)");
  d.fails("{\"tracking\": {\"end_after\": 0}}", 1, "tracking.end_after: must be > 0");
  d.fails("{\"tracking\": {\"confirm_hits\": 1.5}}", 1, "must be an integer");
  d.fails("{\"tracking\": {\"stationary_max_motion\": 2}}", 1, "must be > 0 and <= 1");
  d.fails("{\"tracking\": {\n\"stationary\": 3}}", 2, "stationary");
}

BOOST_AUTO_TEST_CASE(bad_names_name_their_line) {
  Dir d;
  d.fails(rule_with("    \"zones\": [\"a b\"]"), 4, "a name has only the characters");
  d.fails("{\"rules\": [{\n\"name\": \"spaces here\"}]}", 2, "rules[0].name");
  d.fails("{\"rules\": [{\n\"name\": \"" + std::string(65, 'a') + "\"}]}", 2,
          "longer than 64 characters");
  BOOST_CHECK_NO_THROW(d.parse("{\"rules\": [{\"name\": \"" + std::string(64, 'a') + "\"}]}"));
  d.fails("{\"rules\": [{\"name\": \"a\"},\n {\"name\": \"b\"},\n {\"name\": \"a\"}]}", 3,
          "duplicate rule name \"a\"");
}

BOOST_AUTO_TEST_CASE(a_rule_zone_must_be_defined_on_a_port_of_the_rule) {
  Dir d;
  std::string zones =
      "{\"zones\": {\"5000\": [{\"name\": \"door\", \"polygon\": [[0, 0], [1, 0], [1, 1]]}]},\n";
  d.fails(zones + "\"rules\": [{\"name\": \"r\", \"ports\": [5001],\n \"zones\": [\"door\"]}]}", 3,
          "zone \"door\" is not defined on a port of the rule");
  d.fails(zones + "\"rules\": [{\"name\": \"r\",\n \"zones\": [\"gate\"]}]}", 3,
          "zone \"gate\" is not defined on any port");
  auto c = d.parse(zones +
                   "\"rules\": [{\"name\": \"r\", \"ports\": [5001, 5000], \"zones\": [\"door\"]},"
                   " {\"name\": \"s\", \"zones\": [\"door\"]}]}");
  BOOST_TEST(c->rules.size() == 2u);
}

BOOST_AUTO_TEST_CASE(urls_types_and_mqtt_are_checked) {
  Dir d;
  d.fails(rule_with("    \"webhooks\": [{\"url\": \"ftp://h/\"}]"), 4,
          "\"ftp://h/\" is not an http:// or https:// URL");
  d.fails(rule_with("    \"webhooks\": [{\"url\": \"http://\"}]"), 4, "has no host");
  d.fails(rule_with("    \"webhooks\": [{\"secret_file\": \"hook.secret\"}]"), 4,
          "missing key \"url\"");
  BOOST_CHECK_NO_THROW(d.parse(rule_with("    \"webhooks\": [{\"url\": \"HTTPS://h:1/x\"}]")));
  d.fails(rule_with("    \"types\": [\"object.start\", \"object.begin\"]"), 4,
          "rules[0].types[1]: unknown event type \"object.begin\"");
  d.fails(rule_with("    \"types\": [\"foo.*\"]"), 4, "unknown event type \"foo.*\"");
  d.fails(rule_with("    \"types\": [\"*\"]"), 4, "unknown event type");
  auto c = d.parse(rule_with("    \"types\": [\"camera.*\", \"worker.dead\", \"detector.*\"]"));
  BOOST_TEST(c->rules[0].types.size() == 3u);
  d.fails(rule_with("    \"mqtt\": true"), 4, "no top-level \"mqtt\" section");
}

BOOST_AUTO_TEST_CASE(secret_files_are_resolved_read_and_checked) {
  Dir d;
  std::filesystem::create_directories(d.dir + "/keys");
  write(d.dir + "/keys/a.key", "alpha\n\n");
  write(d.dir + "/empty.key", "\n");
  write(d.dir + "/big.key", std::string(4097, 'k'));
  write(d.dir + "/max.key", std::string(4096, 'k'));
  auto hook = [](const std::string& file) {
    return rule_with("    \"webhooks\": [{\"url\": \"http://h/\",\n \"secret_file\": \"" + file +
                     "\"}]");
  };
  // Relative to the config's directory, not the working directory.
  auto c = d.parse(hook("keys/a.key"));
  BOOST_TEST(c->rules[0].webhooks[0].secret_file == d.dir + "/keys/a.key");
  BOOST_TEST(c->rules[0].webhooks[0].secret == "alpha");
  c = d.parse(hook("keys/../hook.secret"));
  BOOST_TEST(c->rules[0].webhooks[0].secret_file == d.dir + "/hook.secret");
  c = d.parse(hook(d.dir + "/keys/a.key"));  // absolute
  BOOST_TEST(c->rules[0].webhooks[0].secret == "alpha");
  BOOST_TEST(d.parse(hook("max.key"))->rules[0].webhooks[0].secret.size() == 4096u);
  d.fails(hook("missing.key"), 5, "cannot read " + d.dir + "/missing.key");
  d.fails(hook("keys"), 5, "not a regular file");
  d.fails(hook("empty.key"), 5, "is empty");
  d.fails(hook("big.key"), 5, "larger than 4 KiB");
  d.fails("{\"mqtt\": {\n\"password_file\": \"nope\"}}", 2, "mqtt.password_file: cannot read");
  d.fails("{\"mqtt\": {\"tls\": true,\n\"ca_file\": \"ca.pem\"}}", 2,
          "mqtt.ca_file: no such file: " + d.dir + "/ca.pem");
  d.fails("{\"delivery\": {\n\"ca_file\": \"ca.pem\"}}", 2, "delivery.ca_file: no such file");
  // A config named without a directory resolves against the working directory.
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(d.dir);
  std::shared_ptr<const EventsConfig> here;
  BOOST_CHECK_NO_THROW(here = parse_events_config(hook("keys/a.key"), "events.json"));
  std::filesystem::current_path(cwd);
  BOOST_REQUIRE(here);
  BOOST_TEST(here->rules[0].webhooks[0].secret == "alpha");
}

BOOST_AUTO_TEST_CASE(load_reads_the_file_and_a_reload_is_a_new_object) {
  Dir d;
  write(d.path, k_minimal);
  auto first = load_events_config(d.path);
  BOOST_TEST(first->rules.at(0).min_confidence == 0.5);
  std::string changed = k_minimal;
  const std::string from = "\"min_confidence\": 0.5";
  std::size_t at = changed.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  write(d.path, changed.replace(at, from.size(), "\"min_confidence\": 0.7"));
  auto second = load_events_config(d.path);
  BOOST_TEST(second.get() != first.get());
  BOOST_TEST(second->rules.at(0).min_confidence == 0.7);
  BOOST_TEST(first->rules.at(0).min_confidence == 0.5);  // the old one is untouched
  std::string what;
  try {
    load_events_config(d.dir + "/absent.json");
  } catch (const ConfigError& e) {
    what = e.what();
  }
  BOOST_TEST(what.find(d.dir + "/absent.json: cannot open") == 0u);
}

BOOST_AUTO_TEST_CASE(event_type_names_and_patterns) {
  namespace et = fh::master::event_type;
  BOOST_TEST(et::known_event_type("object.start"));
  BOOST_TEST(et::known_event_type(et::worker_back));
  BOOST_TEST(!et::known_event_type("object.*"));
  BOOST_TEST(!et::known_event_type("object.star"));
  BOOST_TEST(et::known_type_pattern("object.*"));
  BOOST_TEST(et::known_type_pattern("detector.unavailable"));
  BOOST_TEST(!et::known_type_pattern("robot.*"));
  BOOST_TEST(!et::known_type_pattern(".*"));
}

BOOST_AUTO_TEST_SUITE_END()
