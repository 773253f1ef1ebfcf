#pragma once
// Test helper: a master (in this process) on a free 127.0.0.1 port, serving on its own thread.
// The raw-socket HTTP helpers for the server's edge cases are in tests/common/raw_http.hpp.

#include "framehive/master/master_app.hpp"
#include "raw_http.hpp"

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace fh::test {

struct MasterUnderTest {
  std::unique_ptr<master::MasterApp> app;
  std::thread thread;
  std::string url;
  int port = 0;

  explicit MasterUnderTest(const std::string& db,
                           const std::function<void(master::MasterConfig&)>& tweak = {}) {
    master::MasterConfig c;
    c.db_path = db;
    c.rpc.port = 0;
    c.scheduler.max_frame_age = 0;
    c.stats_interval = 0;
    if (tweak) tweak(c);
    app = std::make_unique<master::MasterApp>(c);
    port = app->port();
    url = "http://127.0.0.1:" + std::to_string(port) + "/RPC2";
    thread = std::thread([this] { app->run(); });
  }
  ~MasterUnderTest() {
    app->stop();
    thread.join();
  }
  MasterUnderTest(const MasterUnderTest&) = delete;
  MasterUnderTest& operator=(const MasterUnderTest&) = delete;
};

}  // namespace fh::test
