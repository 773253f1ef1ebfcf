// FrameQueue, FrameConsumer and DumpSink unit tests.
#include "datagrams.hpp"
#include "temp_dir.hpp"

#include "framehive/receiver/dump_sink.hpp"
#include "framehive/receiver/frame_consumer.hpp"
#include "framehive/receiver/frame_queue.hpp"
#include "framehive/receiver/stats_table.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace fh::receiver;
using namespace std::chrono_literals;
using test::TempDir;

namespace {

ReceivedFrame frame(std::uint16_t port, std::uint32_t seq, std::size_t size = 10) {
  ReceivedFrame f;
  f.port = port;
  f.frame_seq = seq;
  const auto bytes = test::jpeg_like(size, seq);
  f.jpeg.assign(bytes.begin(), bytes.end());
  return f;
}

std::vector<std::pair<std::uint16_t, std::uint32_t>> ids(const std::vector<ReceivedFrame>& fs) {
  std::vector<std::pair<std::uint16_t, std::uint32_t>> out;
  for (const auto& f : fs) out.emplace_back(f.port, f.frame_seq);
  return out;
}

using Ids = std::vector<std::pair<std::uint16_t, std::uint32_t>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_queue)

BOOST_AUTO_TEST_CASE(pops_round_robin_across_ports) {
  FrameQueue q(64);
  for (std::uint32_t i = 0; i < 4; ++i) q.push(frame(5000, i));  // a busy camera
  q.push(frame(5001, 0));
  q.push(frame(5001, 1));
  q.push(frame(5002, 0));
  std::vector<ReceivedFrame> out;
  BOOST_TEST(q.pop_batch(out, 100, 0ms));
  const Ids expect{{5000, 0}, {5001, 0}, {5002, 0}, {5000, 1}, {5001, 1}, {5000, 2}, {5000, 3}};
  BOOST_TEST((ids(out) == expect));
  BOOST_TEST(q.size() == 0u);
}

BOOST_AUTO_TEST_CASE(round_robin_continues_across_batches) {
  FrameQueue q(64);
  for (std::uint32_t i = 0; i < 3; ++i) {
    q.push(frame(7000, i));
    q.push(frame(7001, i));
  }
  std::vector<ReceivedFrame> out;
  q.pop_batch(out, 1, 0ms);
  q.pop_batch(out, 1, 0ms);
  q.pop_batch(out, 3, 0ms);
  const Ids expect{{7000, 0}, {7001, 0}, {7000, 1}, {7001, 1}, {7000, 2}};
  BOOST_TEST((ids(out) == expect));
  // 7000 was served last: 7001 is next, then (wrapping around) a port that joined later.
  q.push(frame(6999, 0));
  out.clear();
  q.pop_batch(out, 10, 0ms);
  const Ids rest{{7001, 2}, {6999, 0}};
  BOOST_TEST((ids(out) == rest));
}

BOOST_AUTO_TEST_CASE(busy_port_cannot_starve_a_quiet_one) {
  FrameQueue q(1000);
  for (std::uint32_t i = 0; i < 500; ++i) q.push(frame(5000, i));
  q.push(frame(5001, 0));
  std::vector<ReceivedFrame> out;
  q.pop_batch(out, 2, 0ms);
  BOOST_TEST((ids(out) == Ids{{5000, 0}, {5001, 0}}));
}

// A burst's frames at once: queued in order under the same overflow policy, each drop named by
// its port; after close() every frame of a batch is dropped.
BOOST_AUTO_TEST_CASE(push_batch_queues_in_order_and_names_the_ports_that_dropped) {
  FrameQueue q(2);
  std::vector<ReceivedFrame> batch;
  for (std::uint32_t i = 0; i < 3; ++i) batch.push_back(frame(5000, i));
  batch.push_back(frame(5001, 0));
  std::vector<std::uint16_t> dropped;
  BOOST_TEST(q.push_batch(batch, dropped) == 1u);
  BOOST_TEST(batch.empty());
  BOOST_TEST((dropped == std::vector<std::uint16_t>{5000}));
  BOOST_TEST(q.dropped() == 1u);
  BOOST_TEST(q.size() == 3u);
  std::vector<ReceivedFrame> none;
  BOOST_TEST(q.push_batch(none, dropped) == 0u);
  std::vector<ReceivedFrame> out;
  q.pop_batch(out, 100, 0ms);
  const Ids expect{{5000, 1}, {5001, 0}, {5000, 2}};
  BOOST_TEST((ids(out) == expect));

  q.close();
  batch.push_back(frame(5000, 3));
  batch.push_back(frame(5002, 0));
  dropped.clear();
  BOOST_TEST(q.push_batch(batch, dropped) == 2u);
  BOOST_TEST((dropped == std::vector<std::uint16_t>{5000, 5002}));
  BOOST_TEST(q.dropped() == 3u);
  BOOST_TEST(q.size() == 0u);
}

BOOST_AUTO_TEST_CASE(full_port_drops_its_oldest_frame) {
  FrameQueue q(3);
  for (std::uint32_t i = 0; i < 3; ++i) BOOST_TEST(q.push(frame(5000, i)) == 0u);
  q.push(frame(5001, 0));
  BOOST_TEST(q.push(frame(5000, 3)) == 1u);
  BOOST_TEST(q.push(frame(5000, 4)) == 1u);
  BOOST_TEST(q.dropped() == 2u);
  BOOST_TEST(q.size() == 4u);  // the other port lost nothing
  std::vector<ReceivedFrame> out;
  q.pop_batch(out, 100, 0ms);
  const Ids expect{{5000, 2}, {5001, 0}, {5000, 3}, {5000, 4}};
  BOOST_TEST((ids(out) == expect));
}

BOOST_AUTO_TEST_CASE(close_hands_out_the_rest_then_ends) {
  FrameQueue q(8);
  q.push(frame(5000, 0));
  q.push(frame(5000, 1));
  q.close();
  BOOST_TEST(q.push(frame(5000, 2)) == 1u);  // refused after close
  std::vector<ReceivedFrame> out;
  BOOST_TEST(q.pop_batch(out, 1, 0ms));
  BOOST_TEST(q.pop_batch(out, 1, 0ms));
  BOOST_TEST(!q.pop_batch(out, 1, 1000ms));  // returns at once: closed and empty
  BOOST_TEST(out.size() == 2u);
}

BOOST_AUTO_TEST_CASE(empty_pop_waits_then_returns_nothing) {
  FrameQueue q(8);
  std::vector<ReceivedFrame> out;
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(q.pop_batch(out, 4, 30ms));
  BOOST_TEST(out.empty());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 25ms));
}

BOOST_AUTO_TEST_CASE(a_waiting_consumer_wakes_on_push) {
  // The consumer must be woken by push's notify, not by its own 5 s timeout: the pop has to
  // return within a bound far below that timeout (generous for sanitizer builds on 2 cores).
  FrameQueue q(8);
  std::vector<ReceivedFrame> out;
  std::thread producer([&q] {
    std::this_thread::sleep_for(10ms);
    q.push(frame(5000, 42));
  });
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(q.pop_batch(out, 4, 5000ms));
  const auto waited_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  producer.join();
  BOOST_TEST(waited_ms < 1000,
             "pop_batch returned after " << waited_ms << " ms: woken by its timeout, not by push");
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].frame_seq == 42u);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// A sink that fails odd sequence numbers and remembers what it saw.
struct PickySink : FrameSink {
  std::vector<std::uint32_t>* seen;
  explicit PickySink(std::vector<std::uint32_t>* s) : seen(s) {}
  void deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) override {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      seen->push_back(batch[i].frame_seq);
      failed[i] = batch[i].frame_seq % 2 == 1;
    }
  }
  std::string name() const override { return "picky"; }
};

/// A sink whose deliver() blocks until request_stop(), like a sink retrying a dead master.
struct BlockingSink : FrameSink {
  std::mutex mutex;              ///< guards stopped
  std::condition_variable wake;  ///< signalled by request_stop
  bool stopped = false;          ///< request_stop() was called
  std::atomic<int> batches{0};   ///< deliver() calls
  void deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) override {
    ++batches;
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait(lock, [this] { return stopped; });
    failed.assign(batch.size(), true);
  }
  void request_stop() override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopped = true;
    }
    wake.notify_all();
  }
  std::string name() const override { return "blocking"; }
};

struct ThrowingSink : FrameSink {
  void deliver(std::vector<ReceivedFrame>&, std::vector<bool>&) override {
    throw std::runtime_error("boom");
  }
  std::string name() const override { return "throwing"; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_consumer)

BOOST_AUTO_TEST_CASE(delivers_everything_queued_before_stop) {
  StatsTable stats({5000, 5001});
  FrameQueue q(100);
  std::vector<std::uint32_t> seen;
  FrameConsumer c(q, std::make_unique<PickySink>(&seen), stats, 4);
  for (std::uint32_t i = 0; i < 10; ++i) q.push(frame(5000, i));
  for (std::uint32_t i = 0; i < 6; ++i) q.push(frame(5001, i));
  c.start();
  c.stop();  // flushes
  BOOST_TEST(seen.size() == 16u);
  BOOST_TEST(stats.find(5000)->snapshot().frames_delivered == 5u);
  BOOST_TEST(stats.find(5000)->snapshot().frames_failed == 5u);
  BOOST_TEST(stats.find(5001)->snapshot().frames_delivered == 3u);
  BOOST_TEST(stats.find(5001)->snapshot().frames_failed == 3u);
}

BOOST_AUTO_TEST_CASE(without_a_sink_frames_are_counted_discarded) {
  StatsTable stats({5000});
  FrameQueue q(100);
  FrameConsumer c(q, nullptr, stats);
  c.start();
  for (std::uint32_t i = 0; i < 7; ++i) q.push(frame(5000, i));
  BOOST_TEST(fh::test::poll_until(
      [&] { return stats.find(5000)->snapshot().frames_discarded == 7u; }, 5000ms));
  c.stop();
  BOOST_TEST(stats.find(5000)->snapshot().frames_delivered == 0u);
}

BOOST_AUTO_TEST_CASE(request_stop_reaches_a_blocked_sink) {
  StatsTable stats({5000});
  FrameQueue q(100);
  auto sink = std::make_unique<BlockingSink>();
  auto* blocking = sink.get();
  FrameConsumer c(q, std::move(sink), stats, 1);
  q.push(frame(5000, 0));
  q.push(frame(5000, 1));
  c.start();
  BOOST_TEST(fh::test::poll_until([&] { return blocking->batches.load() == 1; }, 5000ms));
  c.request_stop();  // from another thread, while deliver() blocks
  c.stop();          // the rest is still flushed (and fails fast)
  BOOST_TEST(blocking->batches.load() == 2);
  BOOST_TEST(stats.find(5000)->snapshot().frames_failed == 2u);
}

BOOST_AUTO_TEST_CASE(a_throwing_sink_counts_failures_and_keeps_going) {
  StatsTable stats({5000});
  FrameQueue q(100);
  FrameConsumer c(q, std::make_unique<ThrowingSink>(), stats);
  q.push(frame(5000, 0));
  q.push(frame(5000, 1));
  c.start();
  c.stop();
  BOOST_TEST(stats.find(5000)->snapshot().frames_failed == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dump_sink)

BOOST_AUTO_TEST_CASE(writes_port_and_seq_files_without_leftovers) {
  namespace fs = std::filesystem;
  const TempDir tmp("dump");
  const std::string dir = tmp.path() + "/nested/out";
  DumpSink sink(dir);
  BOOST_TEST(fs::is_directory(dir));
  std::vector<ReceivedFrame> batch;
  batch.push_back(frame(5000, 0, 3000));
  batch.push_back(frame(5000, 1, 10));
  batch.push_back(frame(5001, 7, 5000));
  const auto copy = batch;
  std::vector<bool> failed(batch.size(), false);
  sink.deliver(batch, failed);
  BOOST_TEST((failed == std::vector<bool>{false, false, false}));
  for (const auto& f : copy) {
    const auto path = sink.path_for(f.port, f.frame_seq);
    BOOST_TEST(path ==
               dir + "/" + std::to_string(f.port) + "/" + std::to_string(f.frame_seq) + ".jpg");
    const auto bytes = fh::test::read_file(path);
    BOOST_TEST((std::vector<std::uint8_t>(bytes.begin(), bytes.end()) == f.jpeg));
  }
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      ++files;
      BOOST_TEST(e.path().extension() == ".jpg");
    }
  }
  BOOST_TEST(files == 3u);
}

BOOST_AUTO_TEST_CASE(unwritable_port_directory_fails_that_frame_only) {
  const TempDir tmp("dump");
  const std::string& dir = tmp.path();
  { std::ofstream(dir + "/5001") << "a file where the port directory should be"; }
  DumpSink sink(dir);
  std::vector<ReceivedFrame> batch;
  batch.push_back(frame(5001, 0));
  batch.push_back(frame(5000, 0));
  std::vector<bool> failed(batch.size(), false);
  sink.deliver(batch, failed);
  BOOST_TEST(failed[0]);
  BOOST_TEST(!failed[1]);
}

BOOST_AUTO_TEST_CASE(bad_directory_throws_at_construction) {
  const TempDir tmp("dump");
  const std::string& dir = tmp.path();
  { std::ofstream(dir + "/file") << "x"; }
  BOOST_CHECK_THROW(DumpSink(dir + "/file/sub"), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
