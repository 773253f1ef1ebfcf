// Crashes in the running pipeline, every process a real binary on 127.0.0.1:
// - kill -9 and restart the master while sender -> receiver -> master -> worker run: the
//   receiver's queue stays bounded (drops counted) and it reconnects, the worker re-registers,
//   every result recorded before the crash is still there, task ids do not collide;
// - kill -9 and restart the receiver, then kill -9 the sender mid-frame and start another run
//   on the same port: with --dump every frame written is byte-identical to a frame of one of
//   the two runs — never a mix of two sessions.
// scripts/reliability.sh runs longer versions (two master crashes, repeated worker kills).
#include "test_reliability_util.hpp"

#include <set>

using fh::reltest::as_int;
using fh::reltest::as_str;
using fh::reltest::num;
using fh::reltest::Struct;
using fh::test::bin;
using fh::test::Child;
using fh::test::poll_until;
using namespace std::chrono_literals;

namespace {

/// get_results(port, 0): every retained record, by task id.
std::map<std::string, Struct> results_by_task(const std::string& url, int port) {
  fh::shared::RpcClient c(url, 20000);
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_int(port));
  p.add(xmlrpc_c::value_int(0));
  std::map<std::string, Struct> out;
  for (const auto& v : xmlrpc_c::value_array(c.call("get_results", p)).vectorValueValue()) {
    Struct r = static_cast<Struct>(xmlrpc_c::value_struct(v));
    out.emplace(as_str(r.at("task_id")), std::move(r));
  }
  return out;
}

int completed(const std::string& url, int port) {
  const auto p = fh::reltest::port_of(fh::reltest::try_status(url), port);
  return p.empty() ? -1 : as_int(p.at("completed"));
}

}  // namespace

BOOST_AUTO_TEST_CASE(master_kill_9_mid_stream_receiver_reconnects_results_survive) {
  const auto dir = fh::test::make_temp_dir("rel-master-crash");
  const int uport = fh::test::free_udp_port();
  fh::reltest::Master m;
  const std::vector<std::string> margs = {"--db",
                                          dir + "/master.db",
                                          "--heartbeat-interval",
                                          "0.3",
                                          "--detector",
                                          std::to_string(uport) + "=null",
                                          "--max-frame-age",
                                          "0",
                                          "--max-pending-per-port",
                                          "64"};
  m.start(dir + "/master-1.log", margs);
  const int queue = 8;
  Child receiver(bin("framehive-receiver"),
                 {"--bind", "127.0.0.1", "--ports", std::to_string(uport), "--master", m.url,
                  "--queue-per-port", std::to_string(queue), "--stats-interval", "1"},
                 dir + "/receiver.log");
  Child worker(bin("framehive-worker"),
               {"--master", m.url, "--detector", "null", "--id", "w", "--log-level", "warn"},
               dir + "/worker.log");
  BOOST_REQUIRE(poll_until(
      [&] { return fh::reltest::alive_workers(fh::reltest::try_status(m.url)) == 1; }, 15s));
  BOOST_REQUIRE(poll_until([&] { return fh::reltest::udp_bound(uport); }, 5s));
  Child sender(bin("framehive-sender"),
               {"--source", "test:320x240", "--port", std::to_string(uport), "--fps", "20",
                "--stream", "cam", "--stats-interval", "0", "--motion", "off"},
               dir + "/sender.log");
  BOOST_REQUIRE(poll_until([&] { return completed(m.url, uport) >= 20; }, 20s));
  const auto before = results_by_task(m.url, uport);
  BOOST_REQUIRE(before.size() >= 20u);

  m.proc->signal(SIGKILL);
  BOOST_REQUIRE(m.proc->wait(5s) == -SIGKILL);
  // Down until the receiver's bounded queue overflowed (its stats line shows drops).
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto kv = fh::reltest::stats_line(fh::test::read_file(dir + "/receiver.log"),
                                                "receiver-stats", uport);
        return num(kv, "frames_dropped") > 0;
      },
      15s));
  m.start(dir + "/master-2.log", margs);  // same port, same database
  // The receiver reconnects by itself (backoff) and the worker re-registers.
  BOOST_TEST(poll_until([&] { return completed(m.url, uport) >= 20; }, 20s));
  BOOST_TEST(poll_until(
      [&] { return fh::reltest::alive_workers(fh::reltest::try_status(m.url)) == 1; }, 10s));

  sender.signal(SIGTERM);
  BOOST_REQUIRE(sender.wait(10s) == 0);
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto s = fh::reltest::try_status(m.url);
        return !s.empty() && as_int(s.at("pending")) + as_int(s.at("in_progress")) == 0;
      },
      20s));
  receiver.signal(SIGTERM);
  BOOST_REQUIRE(receiver.wait(15s) == 0);

  const auto after = results_by_task(m.url, uport);
  std::set<std::string> epochs;
  std::set<int> frame_ids;
  for (const auto& [id, r] : after) {
    epochs.insert(id.substr(0, id.find('-')));
    frame_ids.insert(as_int(r.at("frame_id")));
  }
  int kept = 0;
  for (const auto& [id, r] : before) {
    const auto it = after.find(id);
    kept += it != after.end() && as_int(it->second.at("frame_id")) == as_int(r.at("frame_id")) &&
            xmlrpc_c::value_double(it->second.at("completed_at")) ==
                xmlrpc_c::value_double(r.at("completed_at"));
  }
  BOOST_TEST(kept == static_cast<int>(before.size()));  // every pre-crash result, unchanged
  BOOST_TEST(epochs.size() == 2u);                      // new ids carry the new start counter
  BOOST_TEST(frame_ids.size() == after.size());         // no frame recorded twice
  BOOST_TEST(after.size() > before.size());

  const std::string rlog = fh::test::read_file(dir + "/receiver.log");
  const auto s =
      fh::reltest::stats_line(fh::test::read_file(dir + "/sender.log"), "sender-stats", uport);
  // the final line (stdout, at exit) is the last one in the log
  const auto r = fh::reltest::stats_line(rlog, "receiver-stats", uport);
  BOOST_TEST_MESSAGE("sent " << num(s, "frames") << ", receiver complete "
                             << num(r, "frames_complete") << ", delivered "
                             << num(r, "frames_delivered") << ", dropped "
                             << num(r, "frames_dropped") << "; results " << before.size() << " -> "
                             << after.size());
  BOOST_TEST(num(r, "frames_dropped") > 0);  // bounded while the master was down, counted
  BOOST_TEST(num(s, "frames") == num(r, "frames_complete") + num(r, "frames_incomplete"));
  BOOST_TEST(num(r, "frames_complete") ==
             num(r, "frames_delivered") + num(r, "frames_dropped") + num(r, "frames_failed"));
  BOOST_TEST(rlog.find("reachable again") != std::string::npos);
  worker.signal(SIGTERM);
  BOOST_TEST(worker.wait(10s) == 0);
  m.proc->signal(SIGTERM);
  BOOST_TEST(m.proc->wait(10s) == 0);
}

BOOST_AUTO_TEST_CASE(receiver_and_sender_restarts_never_mix_two_runs) {
  const auto dir = fh::test::make_temp_dir("rel-restart");
  const std::string source = "test:640x480";
  const auto ref_a = fh::reltest::reference_frames(dir, source, 300, 80);
  const auto ref_b = fh::reltest::reference_frames(dir, source, 15, 60);
  const int uport = fh::test::free_udp_port();
  const std::string dump = dir + "/dump";
  const std::string port_dir = dump + "/" + std::to_string(uport);
  const std::vector<std::string> rargs = {
      "--bind", "127.0.0.1",        "--ports", std::to_string(uport), "--dump",
      dump,     "--stats-interval", "0",       "--log-level",         "warn"};
  auto receiver =
      std::make_unique<Child>(bin("framehive-receiver"), rargs, dir + "/receiver-1.log");
  BOOST_REQUIRE(poll_until([&] { return fh::reltest::udp_bound(uport); }, 5s));
  // --max-rate 5: a ~22 KB frame takes ~35 ms of the 40 ms between frames on the wire, so a
  // kill -9 almost surely lands in the middle of one.
  Child a(bin("framehive-sender"),
          {"--source", source, "--port", std::to_string(uport), "--fps", "25", "--max-rate", "5",
           "--quality", "80", "--stats-interval", "0", "--motion", "off"},
          dir + "/sender-a.log");
  BOOST_REQUIRE(poll_until([&] { return fh::reltest::count_dump(port_dir) >= 10; }, 15s));
  receiver->signal(SIGKILL);
  receiver->wait(5s);
  const std::size_t before_restart = fh::reltest::count_dump(port_dir);
  receiver = std::make_unique<Child>(bin("framehive-receiver"), rargs, dir + "/receiver-2.log");
  BOOST_REQUIRE(
      poll_until([&] { return fh::reltest::count_dump(port_dir) >= before_restart + 25; }, 15s));
  a.signal(SIGKILL);  // mid-frame: receiver-2 holds a partial frame of run A
  a.wait(5s);
  Child b(bin("framehive-sender"),
          {"--source", source, "--port", std::to_string(uport), "--fps", "25", "--max-rate", "5",
           "--quality", "60", "--frames", "15", "--stats-interval", "0", "--motion", "off"},
          dir + "/sender-b.log");
  BOOST_REQUIRE(b.wait(20s) == 0);
  BOOST_REQUIRE(poll_until(
      [&] {
        const auto files = fh::reltest::read_dump(port_dir);
        for (int k = 0; k < 15; ++k) {
          const auto it = files.find(k);
          if (it == files.end() || it->second != ref_b.at(k)) return false;
        }
        return true;
      },
      10s));
  receiver->signal(SIGTERM);
  BOOST_REQUIRE(receiver->wait(10s) == 0);

  const auto files = fh::reltest::read_dump(port_dir);
  int from_a = 0, from_b = 0, mixed = 0;
  for (const auto& [seq, bytes] : files) {
    const bool is_a = ref_a.count(seq) && ref_a.at(seq) == bytes;
    const bool is_b = ref_b.count(seq) && ref_b.at(seq) == bytes;
    from_a += is_a;
    from_b += is_b;
    mixed += !is_a && !is_b;
  }
  const auto r = fh::reltest::stats_line(fh::test::read_file(dir + "/receiver-2.log"),
                                         "receiver-stats", uport);
  BOOST_TEST_MESSAGE(files.size() << " frames dumped: " << from_a << " of run A, " << from_b
                                  << " of run B; receiver-2 superseded " << num(r, "superseded")
                                  << ", timed_out " << num(r, "timed_out"));
  BOOST_TEST(mixed == 0);
  BOOST_TEST(from_b == 15);  // B overwrote seq 0..14 (--dump names files by frame_seq)
  BOOST_TEST(from_a >= 20);  // run A's later frames, from both receivers
  BOOST_TEST(num(r, "malformed_inconsistent") == 0);
}
