#define BOOST_TEST_MODULE integration
// Multi-process fault tests: real framehive-master and framehive-worker binaries on 127.0.0.1.
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
using Struct = std::map<std::string, xmlrpc_c::value>;
using namespace std::chrono_literals;

namespace {

/// JPEG q80 frames of vtest.avi, from frame `first`.
std::vector<std::vector<unsigned char>> vtest_jpegs(int first, int count) {
  cv::VideoCapture cap(fh::test::vtest_avi());
  BOOST_REQUIRE(cap.isOpened());
  cap.set(cv::CAP_PROP_POS_FRAMES, first);
  std::vector<std::vector<unsigned char>> out;
  cv::Mat img;
  while (static_cast<int>(out.size()) < count && cap.read(img)) {
    std::vector<unsigned char> buf;
    cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 80});
    out.push_back(std::move(buf));
  }
  return out;
}

Struct call_struct(RpcClient& c, const std::string& m, const xmlrpc_c::paramList& p) {
  return static_cast<Struct>(xmlrpc_c::value_struct(c.call(m, p)));
}

Struct status(RpcClient& c) { return call_struct(c, "status", xmlrpc_c::paramList()); }

int num(const Struct& s, const char* k) { return xmlrpc_c::value_int(s.at(k)); }

/// Starts a master binary on a free port and waits until it answers.
struct MasterProc {
  int port = fh::test::free_tcp_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/RPC2";
  std::unique_ptr<Child> proc;
  MasterProc(const std::string& dir, std::vector<std::string> extra = {}) {
    start(dir, std::move(extra));
  }
  void start(const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--port", std::to_string(port), "--db", dir + "/master.db", "--stats-interval",
        "0",      "--log-level",        "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<Child>(bin("framehive-master"), args, dir + "/master.log");
    RpcClient c(url, 2000);
    BOOST_REQUIRE(poll_until(
        [&] {
          try {
            status(c);
            return true;
          } catch (const std::exception&) {
            return false;
          }
        },
        10s));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_worker_holding_a_task_loses_nothing) {
  const auto dir = fh::test::make_temp_dir("kill-worker");
  // Heartbeats every 0.3 s: a killed worker is found dead within ~1 s, long before the
  // 60 s task timeout, so what this test exercises is the dead-worker path.
  MasterProc master(dir, {"--heartbeat-interval", "0.3", "--task-timeout", "60", "--max-frame-age",
                          "0", "--max-pending-per-port", "100"});
  RpcClient c(master.url, 10000);
  const auto jpegs = vtest_jpegs(100, 12);
  std::vector<xmlrpc_c::value> frames;
  for (std::size_t i = 0; i < jpegs.size(); ++i) {
    frames.push_back(
        xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(5000)},
                                      {"frame_id", xmlrpc_c::value_int(static_cast<int>(i))},
                                      {"captured_at", xmlrpc_c::value_double(0)},
                                      {"image", xmlrpc_c::value_bytestring(jpegs[i])}}));
  }
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_array(frames));
  c.call("add_tasks", p);

  Child victim(
      bin("framehive-worker"),
      {"--master", master.url, "--detector", "hog", "--id", "victim", "--log-level", "warn"},
      dir + "/victim.log");
  // Wait until the victim holds a task, then kill -9 it.
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto s = status(c);
        for (const auto& w : xmlrpc_c::value_array(s.at("workers")).vectorValueValue()) {
          const Struct ws = static_cast<Struct>(xmlrpc_c::value_struct(w));
          if (static_cast<std::string>(xmlrpc_c::value_string(ws.at("worker_id"))) == "victim" &&
              xmlrpc_c::value_array(ws.at("current_tasks")).size() > 0) {
            return true;
          }
        }
        return false;
      },
      20s));
  victim.signal(SIGKILL);
  victim.wait(5s);

  Child survivor(
      bin("framehive-worker"),
      {"--master", master.url, "--detector", "hog", "--id", "survivor", "--log-level", "warn"},
      dir + "/survivor.log");
  BOOST_REQUIRE(poll_until([&] { return num(status(c), "completed") == 12; }, 60s));
  const auto s = status(c);
  BOOST_TEST(num(s, "requeued_dead_worker") >= 1);
  BOOST_TEST(num(s, "failed") == 0);
  // exactly one ResultRecord per frame
  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(5000));
  const auto results = xmlrpc_c::value_array(c.call("get_results", q)).vectorValueValue();
  BOOST_TEST(results.size() == 12u);
  std::set<int> frame_ids;
  for (const auto& r : results) {
    frame_ids.insert(
        xmlrpc_c::value_int(static_cast<Struct>(xmlrpc_c::value_struct(r)).at("frame_id")));
  }
  BOOST_TEST(frame_ids.size() == 12u);
  survivor.signal(SIGTERM);
  BOOST_TEST(survivor.wait(10s) == 0);
  master.proc->signal(SIGTERM);
  BOOST_TEST(master.proc->wait(10s) == 0);
}

BOOST_AUTO_TEST_CASE(master_restart_keeps_results_and_workers_reconnect) {
  const auto dir = fh::test::make_temp_dir("restart-master");
  auto master =
      std::make_unique<MasterProc>(dir, std::vector<std::string>{"--heartbeat-interval", "0.3"});
  const auto jpegs = vtest_jpegs(200, 1);
  auto submit = [&](RpcClient& c, int id) {
    xmlrpc_c::paramList p;
    p.add(xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(5000)},
                                        {"frame_id", xmlrpc_c::value_int(id)},
                                        {"captured_at", xmlrpc_c::value_double(0)},
                                        {"detector", xmlrpc_c::value_string("null")},
                                        {"image", xmlrpc_c::value_bytestring(jpegs[0])}}));
    return static_cast<std::string>(xmlrpc_c::value_string(c.call("add_task", p)));
  };
  Child worker(bin("framehive-worker"),
               {"--master", master->url, "--detector", "null", "--id", "w", "--log-level", "warn"},
               dir + "/worker.log");
  std::set<std::string> ids;
  {
    RpcClient c(master->url, 10000);
    for (int i = 0; i < 5; ++i) ids.insert(submit(c, i));
    BOOST_REQUIRE(poll_until([&] { return num(status(c), "completed") == 5; }, 20s));
  }
  master->proc->signal(SIGKILL);
  master->proc->wait(5s);
  master->start(dir, {"--heartbeat-interval", "0.3"});  // same port, same database
  RpcClient c(master->url, 10000);
  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(5000));
  BOOST_TEST(xmlrpc_c::value_array(c.call("get_results", q)).size() == 5u);
  // the worker re-registers by itself and processes new frames; ids never collide
  for (int i = 5; i < 10; ++i) BOOST_TEST(ids.insert(submit(c, i)).second);
  BOOST_REQUIRE(poll_until([&] { return num(status(c), "completed") == 5; }, 30s));
  BOOST_TEST(xmlrpc_c::value_array(c.call("get_results", q)).size() == 10u);
  worker.signal(SIGTERM);
  BOOST_TEST(worker.wait(10s) == 0);
}

BOOST_AUTO_TEST_CASE(corrupt_jpeg_ends_in_fail_task_and_the_worker_keeps_working) {
  const auto dir = fh::test::make_temp_dir("corrupt-jpeg");
  MasterProc master(dir, {"--max-frame-age", "0"});
  RpcClient c(master.url, 10000);
  const auto good = vtest_jpegs(100, 1).at(0);
  // Passes the master's header check but does not decode (no quantisation tables).
  const auto corrupt = fh::test::undecodable_jpeg();
  auto frame = [](int id, const std::vector<unsigned char>& img) {
    return xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(5000)},
                                         {"frame_id", xmlrpc_c::value_int(id)},
                                         {"captured_at", xmlrpc_c::value_double(0)},
                                         {"image", xmlrpc_c::value_bytestring(img)}});
  };
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{frame(1, corrupt), frame(2, good)}));
  c.call("add_tasks", p);
  Child worker(bin("framehive-worker"),
               {"--master", master.url, "--detector", "hog", "--id", "w", "--log-level", "error"},
               dir + "/worker.log");
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto s = status(c);
        return num(s, "failed") == 1 && num(s, "completed") == 1;
      },
      30s));
  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(5000));
  const auto fails = xmlrpc_c::value_array(c.call("get_failures", q)).vectorValueValue();
  BOOST_REQUIRE(fails.size() == 1u);
  const Struct f = static_cast<Struct>(xmlrpc_c::value_struct(fails[0]));
  const std::string reason = xmlrpc_c::value_string(f.at("reason"));
  BOOST_TEST(reason.find("corrupt JPEG") != std::string::npos, reason);
  BOOST_TEST(xmlrpc_c::value_int(f.at("frame_id")) == 1);
  BOOST_TEST(worker.running());
  worker.signal(SIGTERM);
  BOOST_TEST(worker.wait(10s) == 0);
}

// The worker sends each report on a thread of its own while it asks for its next task
// (WorkerApp's ReportThread): when it ends by itself (--max-tasks) every task it took is
// already reported, so the master has all of them the moment the process is gone.
BOOST_AUTO_TEST_CASE(worker_exits_only_after_reporting_every_task_it_took) {
  const auto dir = fh::test::make_temp_dir("worker-reports");
  MasterProc master(dir, {"--max-frame-age", "0"});
  RpcClient c(master.url, 10000);
  const auto jpegs = vtest_jpegs(200, 4);
  std::vector<xmlrpc_c::value> frames;
  for (int i = 0; i < 4; ++i) {
    frames.push_back(
        xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(5000)},
                                      {"frame_id", xmlrpc_c::value_int(i)},
                                      {"captured_at", xmlrpc_c::value_double(0)},
                                      {"detector", xmlrpc_c::value_string("hog")},
                                      {"image", xmlrpc_c::value_bytestring(jpegs.at(i))}}));
  }
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_array(frames));
  c.call("add_tasks", p);
  Child worker(bin("framehive-worker"),
               {"--master", master.url, "--detector", "hog", "--id", "w", "--max-tasks", "4",
                "--log-level", "warn"},
               dir + "/worker.log");
  BOOST_REQUIRE(worker.wait(120s) == 0);
  const auto s = status(c);
  BOOST_TEST(num(s, "completed") == 4);
  BOOST_TEST(num(s, "in_progress") == 0);
  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(5000));
  const auto recs = xmlrpc_c::value_array(c.call("get_results", q)).vectorValueValue();
  BOOST_REQUIRE(recs.size() == 4u);
  for (const auto& v : recs) {
    const Struct r = static_cast<Struct>(xmlrpc_c::value_struct(v));
    BOOST_TEST(static_cast<std::string>(xmlrpc_c::value_string(r.at("worker_id"))) == "w");
    BOOST_TEST(xmlrpc_c::value_double(r.at("processing_ms")) > 0.0);
  }
}

// --prefetch (default on): while a detection runs the worker asks for the next task without
// waiting. It takes frames that are pending (queued behind the one it runs), and none when the
// queue is empty: a frame added later goes to a long poll, never to a prefetch.
BOOST_AUTO_TEST_CASE(worker_prefetches_pending_frames_only) {
  const auto dir = fh::test::make_temp_dir("worker-prefetch");
  MasterProc master(dir, {"--max-frame-age", "0"});
  RpcClient c(master.url, 10000);
  const auto jpegs = vtest_jpegs(300, 3);
  auto add = [&](int port, int id) {
    xmlrpc_c::paramList p;
    p.add(xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(port)},
                                        {"frame_id", xmlrpc_c::value_int(id)},
                                        {"captured_at", xmlrpc_c::value_double(0)},
                                        {"detector", xmlrpc_c::value_string("hog")},
                                        {"image", xmlrpc_c::value_bytestring(jpegs.at(id))}}));
    c.call("add_task", p);
  };
  // A field of the worker's final line "worker-stats id=... completed=N ... prefetched=N".
  auto field = [](const std::string& path, const std::string& key) -> long {
    const std::string log = fh::test::read_file(path);
    const auto line = log.find("worker-stats");
    const auto at = log.find(" " + key + "=", line);
    if (line == std::string::npos || at == std::string::npos) return -1;
    return std::stol(log.substr(at + key.size() + 2));
  };
  // Three frames queued at once: the long poll takes the first, each detection prefetches the
  // next, the third runs without one (--max-tasks reached).
  for (int i = 0; i < 3; ++i) add(5000, i);
  {
    Child worker(bin("framehive-worker"),
                 {"--master", master.url, "--detector", "hog", "--id", "w1", "--max-tasks", "3",
                  "--log-level", "warn"},
                 dir + "/queued.log");
    BOOST_REQUIRE(worker.wait(120s) == 0);
  }
  BOOST_TEST(field(dir + "/queued.log", "completed") == 3);
  BOOST_TEST(field(dir + "/queued.log", "prefetched") == 2);
  // One frame at a time, each added after the previous one completed: nothing is pending when
  // the worker asks during a detection, so every frame comes through the long poll.
  Child worker(bin("framehive-worker"),
               {"--master", master.url, "--detector", "hog", "--id", "w2", "--max-tasks", "3",
                "--log-level", "warn"},
               dir + "/one-by-one.log");
  for (int i = 0; i < 3; ++i) {
    add(5001, i);
    BOOST_REQUIRE(poll_until([&] { return num(status(c), "completed") == 4 + i; }, 60s));
  }
  BOOST_REQUIRE(worker.wait(60s) == 0);
  BOOST_TEST(field(dir + "/one-by-one.log", "completed") == 3);
  BOOST_TEST(field(dir + "/one-by-one.log", "prefetched") == 0);
}
