// Frames a master holds in memory when it stops are not lost silently, with the real binary on
// 127.0.0.1: kill -9 it while frames are pending and in progress, start it again on the same
// database, and those frames are failures ('lost: ...'), reported by status() as
// lost_at_start; a clean stop (SIGTERM) records them at once. Every frame added has exactly one
// record: a result or a failure.
#include "test_reliability_util.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <set>

using fh::reltest::as_int;
using fh::reltest::as_str;
using fh::reltest::call_struct;
using fh::reltest::Struct;
using fh::shared::RpcClient;
using namespace std::chrono_literals;

namespace {

std::vector<unsigned char> small_jpeg() {
  cv::Mat img(48, 64, CV_8UC3, cv::Scalar(40, 120, 200));
  std::vector<unsigned char> out;
  cv::imencode(".jpg", img, out);
  return out;
}

/// add_tasks with `n` frames of `port`, frame ids from `first`.
void add_frames(RpcClient& c, int port, int first, int n) {
  static const auto jpeg = small_jpeg();
  std::vector<xmlrpc_c::value> frames;
  for (int i = 0; i < n; ++i) {
    frames.push_back(
        xmlrpc_c::value_struct(Struct{{"port", xmlrpc_c::value_int(port)},
                                      {"stream", xmlrpc_c::value_string("cam")},
                                      {"frame_id", xmlrpc_c::value_int(first + i)},
                                      {"captured_at", xmlrpc_c::value_double(1.0e9 + first + i)},
                                      {"image", xmlrpc_c::value_bytestring(jpeg)}}));
  }
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_array(frames));
  BOOST_REQUIRE(xmlrpc_c::value_array(c.call("add_tasks", p)).size() == static_cast<unsigned>(n));
}

/// frame id -> outcomes ("result" / the failure reason), over results and failures of a port.
std::map<int, std::vector<std::string>> outcomes(RpcClient& c, int port) {
  std::map<int, std::vector<std::string>> out;
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_int(port));
  p.add(xmlrpc_c::value_int(0));
  for (const auto& v : xmlrpc_c::value_array(c.call("get_results", p)).vectorValueValue()) {
    const Struct r = static_cast<Struct>(xmlrpc_c::value_struct(v));
    out[as_int(r.at("frame_id"))].push_back("result");
  }
  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(port));
  q.add(xmlrpc_c::value_int(1000));
  for (const auto& v : xmlrpc_c::value_array(c.call("get_failures", q)).vectorValueValue()) {
    const Struct f = static_cast<Struct>(xmlrpc_c::value_struct(v));
    out[as_int(f.at("frame_id"))].push_back(as_str(f.at("reason")));
  }
  return out;
}

bool lost(const std::vector<std::string>& o) {
  return o.size() == 1 && o[0].rfind("lost: master stopped", 0) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(frames_a_stopped_master_held_are_recorded_as_lost_never_silent) {
  const auto dir = fh::test::make_temp_dir("rel-journal");
  const int pa = 7100, pb = 7101;  // ports are only labels here: no UDP
  const std::vector<std::string> margs = {"--db",
                                          dir + "/master.db",
                                          "--detector",
                                          std::to_string(pa) + "=null",
                                          "--detector",
                                          std::to_string(pb) + "=null",
                                          "--max-frame-age",
                                          "0",
                                          "--max-pending-per-port",
                                          "100"};
  fh::reltest::Master m;
  m.start(dir + "/master-1.log", margs);
  {
    RpcClient c(m.url, 5000);
    xmlrpc_c::paramList reg;
    reg.add(xmlrpc_c::value_string("w"));
    reg.add(xmlrpc_c::value_string(""));
    reg.add(xmlrpc_c::value_array(std::vector<xmlrpc_c::value>{xmlrpc_c::value_string("null")}));
    c.call("register_worker", reg);
    add_frames(c, pa, 0, 6);
    // frames 0 and 1 complete; 2 is in progress when the master dies; 3..5 pending.
    for (int i = 0; i < 3; ++i) {
      xmlrpc_c::paramList rq;
      rq.add(xmlrpc_c::value_string("w"));
      rq.add(xmlrpc_c::value_int(0));
      const Struct t = static_cast<Struct>(xmlrpc_c::value_struct(c.call("request_task", rq)));
      BOOST_REQUIRE(as_int(t.at("frame_id")) == i);
      if (i == 2) break;
      xmlrpc_c::paramList done;
      done.add(xmlrpc_c::value_string("w"));
      done.add(t.at("task_id"));
      done.add(xmlrpc_c::value_struct(
          Struct{{"detections", xmlrpc_c::value_array(std::vector<xmlrpc_c::value>())},
                 {"processing_ms", xmlrpc_c::value_double(1.0)}}));
      BOOST_REQUIRE(xmlrpc_c::value_boolean(c.call("complete_task", done)));
    }
    add_frames(c, pb, 100, 3);
  }
  m.proc->signal(SIGKILL);
  BOOST_REQUIRE(m.proc->wait(5s) == -SIGKILL);

  m.start(dir + "/master-2.log", margs);
  {
    RpcClient c(m.url, 5000);
    const Struct st = call_struct(c, "status");
    BOOST_TEST(as_int(st.at("lost_at_start")) == 7);
    BOOST_TEST(as_int(fh::reltest::port_of(st, pa).at("lost_at_start")) == 4);
    BOOST_TEST(as_int(fh::reltest::port_of(st, pb).at("lost_at_start")) == 3);
    const auto a = outcomes(c, pa);
    BOOST_TEST(a.size() == 6u);
    for (int id = 0; id < 6; ++id) {
      BOOST_TEST_CONTEXT("port " << pa << " frame " << id) {
        BOOST_REQUIRE(a.count(id));
        if (id < 2) {
          BOOST_TEST((a.at(id) == std::vector<std::string>{"result"}));
        } else {
          BOOST_TEST(lost(a.at(id)));
        }
      }
    }
    const auto b = outcomes(c, pb);
    BOOST_TEST(b.size() == 3u);
    for (const auto& [id, o] : b) BOOST_TEST(lost(o));
    BOOST_TEST(fh::test::read_file(dir + "/master-2.log").find("7 frame(s) were queued") !=
               std::string::npos);
    // framehive-ctl shows them too.
    const std::string ctl = fh::test::bin("framehive-ctl") + " --master " + m.url;
    std::string out;
    BOOST_TEST(fh::test::run_command(ctl + " status", out) == 0);
    BOOST_TEST(out.find("lost when the master last stopped: 7 frame(s)") != std::string::npos, out);
    BOOST_TEST(fh::test::run_command(ctl + " failures --port " + std::to_string(pa) + " --json",
                                     out) == 0);
    BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 4);
    BOOST_TEST(out.find("\"frame_id\":2,") != std::string::npos, out);
    BOOST_TEST(out.find("\"reason\":\"lost: master stopped") != std::string::npos, out);
    BOOST_TEST(fh::test::run_command(ctl + " failures --port 7999", out) ==
               3);  // a port it never saw

    add_frames(c, pb, 200, 2);  // pending at a clean stop
  }
  m.proc->signal(SIGTERM);
  BOOST_REQUIRE(m.proc->wait(15s) == 0);
  BOOST_TEST(fh::test::read_file(dir + "/master-2.log").find("at this stop 2 frame(s)") !=
             std::string::npos);

  m.start(dir + "/master-3.log", margs);
  RpcClient c(m.url, 5000);
  BOOST_TEST(as_int(call_struct(c, "status").at("lost_at_start")) == 0);  // recorded at the stop
  const auto b = outcomes(c, pb);
  BOOST_TEST(b.size() == 5u);
  BOOST_TEST(lost(b.at(200)));
  BOOST_TEST(lost(b.at(201)));
  m.proc->signal(SIGTERM);
  BOOST_TEST(m.proc->wait(15s) == 0);
}
