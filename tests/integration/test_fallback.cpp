// A detector fallback chain end to end (issue 13): a real framehive-master with
// --detector PORT=hog,null, a real hog worker (the first choice) and a real null worker (the
// fallback). Frames go to hog; kill -9 of the hog worker while it holds a frame moves the port
// to null (the held frame requeued and run by null, the records saying null, status and
// framehive-ctl showing the fallback, a detector.fallback event); a new hog worker takes the
// port back (detector.restored).
#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "test_util.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <csignal>
#include <map>
#include <set>

using fh::shared::RpcClient;
using fh::test::bin;
using fh::test::Child;
using fh::test::poll_until;
using namespace std::chrono_literals;

namespace {

using Struct = std::map<std::string, xmlrpc_c::value>;

Struct as_struct(const xmlrpc_c::value& v) {
  return static_cast<Struct>(xmlrpc_c::value_struct(v));
}
std::vector<xmlrpc_c::value> as_array(const xmlrpc_c::value& v) {
  return xmlrpc_c::value_array(v).vectorValueValue();
}
std::string str(const Struct& s, const char* k) {
  return static_cast<std::string>(xmlrpc_c::value_string(s.at(k)));
}
long num(const Struct& s, const char* k) {
  const auto& v = s.at(k);
  if (v.type() == xmlrpc_c::value::TYPE_I8) return static_cast<long>(xmlrpc_c::value_i8(v));
  return xmlrpc_c::value_int(v);
}

/// Feeds frames of vtest.avi (768x576, JPEG q80: HOG takes ~0.1 s each) to one port through
/// add_tasks.
class Feeder {
 public:
  Feeder(RpcClient& c, int port) : c_(c), port_(port), cap_(fh::test::vtest_avi()) {
    BOOST_REQUIRE(cap_.isOpened());
  }
  void add(int n) {
    std::vector<xmlrpc_c::value> frames;
    cv::Mat img;
    for (int i = 0; i < n; ++i) {
      BOOST_REQUIRE(cap_.read(img));
      std::vector<unsigned char> jpeg;
      cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
      frames.push_back(xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(port_)},
                                                     {"frame_id", xmlrpc_c::value_int(next_id_++)},
                                                     {"captured_at", xmlrpc_c::value_double(0)},
                                                     {"image", xmlrpc_c::value_bytestring(jpeg)}}));
    }
    xmlrpc_c::paramList p;
    p.add(xmlrpc_c::value_array(frames));
    c_.call("add_tasks", p);
  }

 private:
  RpcClient& c_;
  int port_;
  cv::VideoCapture cap_;
  int next_id_ = 1;
};

}  // namespace

BOOST_AUTO_TEST_CASE(fallback_chain_survives_kill_9_of_the_first_choice_and_returns) {
  const auto dir = fh::test::make_temp_dir("fallback");
  const int mport = fh::test::free_tcp_port();
  const int cam = 5301;
  const std::string url = "http://127.0.0.1:" + std::to_string(mport) + "/RPC2";
  // Heartbeats every 0.3 s: a killed worker is dead within ~1 s, long before the task timeout.
  const auto master = fh::test::start_master(
      mport,
      {"--db", dir + "/master.db", "--detector", std::to_string(cam) + "=hog,null", "--priority",
       std::to_string(cam) + "=2", "--heartbeat-interval", "0.3", "--task-timeout", "60",
       "--max-frame-age", "0", "--max-pending-per-port", "200", "--stats-interval", "0",
       "--log-level", "warn"},
      dir + "/master.log");
  RpcClient c(url, 10000);
  const auto status = [&] { return as_struct(c.call("status", xmlrpc_c::paramList())); };
  const auto port_row = [&] {
    for (const auto& p : as_array(status().at("ports"))) {
      const auto row = as_struct(p);
      if (num(row, "port") == cam) return row;
    }
    return Struct{};
  };
  const auto alive = [&](const std::string& id) {
    for (const auto& w : as_array(status().at("workers"))) {
      const auto ws = as_struct(w);
      if (str(ws, "worker_id") == id)
        return static_cast<bool>(xmlrpc_c::value_boolean(ws.at("alive")));
    }
    return false;
  };
  const auto holds_a_task = [&](const std::string& id) {
    for (const auto& w : as_array(status().at("workers"))) {
      const auto ws = as_struct(w);
      if (str(ws, "worker_id") == id && !as_array(ws.at("current_tasks")).empty()) return true;
    }
    return false;
  };
  const auto completed = [&] {
    const auto row = port_row();
    return row.empty() ? -1L : num(row, "completed");
  };
  /// detector -> records of the port, and the frame ids seen.
  const auto records_by_detector = [&](std::set<long>* frame_ids) {
    xmlrpc_c::paramList q;
    q.add(xmlrpc_c::value_int(cam));
    q.add(xmlrpc_c::value_int(0));
    std::map<std::string, int> by;
    for (const auto& r : as_array(c.call("get_results", q))) {
      const auto rec = as_struct(r);
      by[str(rec, "detector")]++;
      if (frame_ids) frame_ids->insert(num(rec, "frame_id"));
    }
    return by;
  };
  const auto event_types = [&] {
    xmlrpc_c::paramList q;
    q.add(xmlrpc_c::value_int(cam));
    q.add(xmlrpc_c::value_double(0));
    q.add(xmlrpc_c::value_int(100));
    std::map<std::string, std::string> out;  // type -> detail of the newest
    for (const auto& e : as_array(c.call("get_events", q))) {
      const auto ev = as_struct(e);
      out[str(ev, "type")] = ev.count("detail") ? str(ev, "detail") : "";  // object events: none
    }
    return out;
  };
  const std::string ctl = bin("framehive-ctl") + " --master " + url + " status 2>&1";

  auto hog =
      std::make_unique<Child>(bin("framehive-worker"),
                              std::vector<std::string>{"--master", url, "--detector", "hog", "--id",
                                                       "first", "--log-level", "warn"},
                              dir + "/hog.log");
  Child null_worker(
      bin("framehive-worker"),
      {"--master", url, "--detector", "null", "--id", "fallback", "--log-level", "warn"},
      dir + "/null.log");
  BOOST_REQUIRE(poll_until([&] { return alive("first") && alive("fallback"); }, 20s));

  // 1. The first choice runs every frame.
  Feeder feed(c, cam);
  feed.add(10);
  BOOST_REQUIRE(poll_until([&] { return completed() == 10; }, 60s));
  BOOST_TEST((records_by_detector(nullptr) == std::map<std::string, int>{{"hog", 10}}));
  auto row = port_row();
  BOOST_TEST(str(row, "running_detector") == "hog");
  BOOST_TEST(!static_cast<bool>(xmlrpc_c::value_boolean(row.at("fallback"))));

  // 2. kill -9 of the hog worker while it holds a frame: the port moves to null.
  feed.add(30);
  BOOST_REQUIRE(poll_until([&] { return holds_a_task("first"); }, 20s));
  hog->signal(SIGKILL);
  hog->wait(5s);
  BOOST_REQUIRE(poll_until([&] { return completed() == 40; }, 60s));
  std::set<long> ids;
  auto by = records_by_detector(&ids);
  BOOST_TEST_MESSAGE("after kill -9 of the hog worker: hog " << by["hog"] << ", null "
                                                             << by["null"]);
  BOOST_TEST(ids.size() == 40u);  // one record per frame
  BOOST_TEST(by["hog"] + by["null"] == 40);
  BOOST_TEST(by["null"] >= 1);
  const auto st = status();
  BOOST_TEST(num(st, "requeued_dead_worker") >= 1);
  BOOST_TEST(num(st, "failed") == 0);
  row = port_row();
  BOOST_TEST(str(row, "running_detector") == "null");
  BOOST_TEST(static_cast<bool>(xmlrpc_c::value_boolean(row.at("fallback"))));
  BOOST_TEST(str(row, "state") == "live");
  std::string out;
  BOOST_TEST(fh::test::run_command(ctl, out) == 0);
  BOOST_TEST(out.find("null (fallback; chain hog,null)") != std::string::npos, out);
  BOOST_REQUIRE(poll_until([&] { return event_types().count("detector.fallback") > 0; }, 10s));
  BOOST_TEST(event_types().at("detector.fallback") ==
             "frames go to null: no live worker offers hog (chain hog,null)");

  // 3. A hog worker again: new frames go back to it.
  hog = std::make_unique<Child>(bin("framehive-worker"),
                                std::vector<std::string>{"--master", url, "--detector", "hog",
                                                         "--id", "first", "--log-level", "warn"},
                                dir + "/hog2.log");
  BOOST_REQUIRE(poll_until(
      [&] {
        return alive("first") &&
               !static_cast<bool>(xmlrpc_c::value_boolean(port_row().at("fallback")));
      },
      20s));
  feed.add(10);
  BOOST_REQUIRE(poll_until([&] { return completed() == 50; }, 60s));
  const auto after = records_by_detector(nullptr);
  BOOST_TEST(after.at("hog") == by["hog"] + 10);
  BOOST_TEST(after.at("null") == by["null"]);
  BOOST_TEST(fh::test::run_command(ctl, out) == 0);
  BOOST_TEST(out.find("hog (chain hog,null)") != std::string::npos, out);
  BOOST_REQUIRE(poll_until([&] { return event_types().count("detector.restored") > 0; }, 10s));

  hog->signal(SIGTERM);
  BOOST_TEST(hog->wait(10s) == 0);
  null_worker.signal(SIGTERM);
  BOOST_TEST(null_worker.wait(10s) == 0);
  master->signal(SIGTERM);
  BOOST_TEST(master->wait(10s) == 0);
}

BOOST_AUTO_TEST_CASE(bad_priority_and_detector_options_are_usage_errors) {
  const std::string master = bin("framehive-master") + " --port 0 --db :memory: ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--priority 5000=0", "--priority '5000=0': the weight must be an integer in 1..1000"},
      {"--priority 5000", "--priority '5000': expected PORT=WEIGHT"},
      {"--priority 5000=2 --priority 5000=3", "--priority '5000=3': port 5000 given twice"},
      {"--detector 5000=hog,,null", "--detector '5000=hog,,null': an empty detector name"},
      {"--detector 99999=hog", "--detector '99999=hog': the port must be a number in 1..65535"},
      {"--default-detector ''", "--default-detector: empty"}};
  for (const auto& [args, message] : cases) {
    std::string out;
    BOOST_TEST(fh::test::run_command("timeout 20 " + master + args + " 2>&1", out) == 2, args);
    BOOST_TEST(out.find(message) != std::string::npos, args << ": " << out);
  }
}
