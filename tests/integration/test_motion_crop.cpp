// framehive-worker --motion-crop end to end: a real master hands tasks whose frames carry the
// sender's motion info (contract field "motion") to a real worker, which runs the motion frame
// on its crop and the keep-alive and motion-less frames whole, and counts what it cropped.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/rpc_client.hpp"
#include "test_util.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>

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

xmlrpc_c::value motion(bool keepalive, double x, double y, double w, double h) {
  std::vector<xmlrpc_c::value> boxes = {
      xmlrpc_c::value_struct(Struct{{"x", xmlrpc_c::value_double(x)},
                                    {"y", xmlrpc_c::value_double(y)},
                                    {"w", xmlrpc_c::value_double(w)},
                                    {"h", xmlrpc_c::value_double(h)}})};
  return xmlrpc_c::value_struct(Struct{{"score", xmlrpc_c::value_double(0.03)},
                                       {"keepalive", xmlrpc_c::value_boolean(keepalive)},
                                       {"boxes", xmlrpc_c::value_array(boxes)}});
}

}  // namespace

BOOST_AUTO_TEST_CASE(worker_motion_crop_end_to_end) {
  const auto dir = fh::test::make_temp_dir("motion-crop");
  const int port = fh::test::free_tcp_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/RPC2";
  const auto master = fh::test::start_master(port,
                                             {"--db", dir + "/master.db", "--stats-interval", "0",
                                              "--log-level", "warn", "--max-frame-age", "0"},
                                             dir + "/master.log");
  RpcClient c(url, 10000);
  const auto status = [&] { return as_struct(c.call("status", xmlrpc_c::paramList())); };

  // vtest.avi frame 100; HOG finds the man in black at about (325,148) 76x152 (768x576).
  cv::VideoCapture cap(fh::test::vtest_avi());
  BOOST_REQUIRE(cap.isOpened());
  cap.set(cv::CAP_PROP_POS_FRAMES, 100);
  cv::Mat img;
  BOOST_REQUIRE(cap.read(img));
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
  const double x = 325.0 / 768, y = 148.0 / 576, w = 76.0 / 768, h = 152.0 / 576;
  std::vector<xmlrpc_c::value> frames;
  for (int id = 0; id < 3; ++id) {
    Struct f{{"port", xmlrpc_c::value_int(5000)},
             {"frame_id", xmlrpc_c::value_int(id)},
             {"captured_at", xmlrpc_c::value_double(0)},
             {"image", xmlrpc_c::value_bytestring(jpeg)}};
    if (id == 0) f.emplace("motion", motion(false, x, y, w, h));  // moving: cropped
    if (id == 1) f.emplace("motion", motion(true, x, y, w, h));   // keep-alive: whole
    frames.push_back(xmlrpc_c::value_struct(f));                  // id 2: no motion: whole
  }
  xmlrpc_c::paramList p;
  p.add(xmlrpc_c::value_array(frames));
  c.call("add_tasks", p);

  Child worker(bin("framehive-worker"),
               {"--master", url, "--detector", "hog", "--motion-crop", "--max-tasks", "3",
                "--log-level", "warn"},
               dir + "/worker.log");
  BOOST_REQUIRE(
      poll_until([&] { return xmlrpc_c::value_int(status().at("completed")) == 3; }, 60s));
  BOOST_TEST(worker.wait(20s) == 0);  // --max-tasks: exits and prints its summary
  std::ifstream log(dir + "/worker.log");
  std::stringstream text;
  text << log.rdbuf();
  BOOST_TEST(text.str().find("cropped=1") != std::string::npos, text.str());
  BOOST_TEST(text.str().find("ignored_motion_boxes=0") != std::string::npos, text.str());

  xmlrpc_c::paramList q;
  q.add(xmlrpc_c::value_int(5000));
  std::map<int, std::vector<cv::Rect>> found;
  for (const auto& r : xmlrpc_c::value_array(c.call("get_results", q)).vectorValueValue()) {
    const Struct rec = as_struct(r);
    auto& boxes = found[xmlrpc_c::value_int(rec.at("frame_id"))];
    for (const auto& d : xmlrpc_c::value_array(rec.at("detections")).vectorValueValue()) {
      const Struct det = as_struct(d);
      boxes.emplace_back(xmlrpc_c::value_int(det.at("x")), xmlrpc_c::value_int(det.at("y")),
                         xmlrpc_c::value_int(det.at("w")), xmlrpc_c::value_int(det.at("h")));
    }
  }
  BOOST_TEST_REQUIRE(found.size() == 3u);
  // The cropped frame finds the man in frame coordinates, and nobody far from him.
  const cv::Rect man(325, 148, 76, 152);
  bool has_man = false;
  for (const auto& b : found[0]) {
    const double inter = (b & man).area();
    if (inter / (b.area() + man.area() - inter) >= 0.8) has_man = true;
    // Inside the crop: the box padded by 100% + 32 px a side, (217,0)-(509,484).
    BOOST_TEST((b & cv::Rect(217, 0, 292, 484)) == b);
  }
  BOOST_TEST(has_man);
  // Keep-alive and motion-less frames ran whole: the same boxes, more than the crop's.
  BOOST_TEST(found[1] == found[2]);
  BOOST_TEST(found[1].size() > found[0].size());
  master->signal(SIGTERM);
  BOOST_TEST(master->wait(10s) == 0);
}
