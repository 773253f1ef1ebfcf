// Command-line parsing of framehive-receiver: port lists and checked values.
#include "framehive/receiver/receiver_options.hpp"
#include "framehive/shared/cli.hpp"

#include <boost/test/unit_test.hpp>

using namespace fh::receiver;
using fh::shared::UsageError;
using Ports = std::vector<std::uint16_t>;

namespace {

ReceiverConfig parse(std::vector<std::string> args) {
  boost::program_options::options_description opts;
  add_receiver_options(opts);
  std::vector<const char*> argv{"framehive-receiver"};
  for (const auto& a : args) argv.push_back(a.c_str());
  boost::program_options::variables_map vm;
  boost::program_options::store(
      boost::program_options::parse_command_line(static_cast<int>(argv.size()), argv.data(), opts),
      vm);
  boost::program_options::notify(vm);
  return receiver_config_from(vm);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(receiver_options)

BOOST_AUTO_TEST_CASE(port_lists_ranges_and_mixes) {
  BOOST_TEST((parse_port_list("5000") == Ports{5000}));
  BOOST_TEST((parse_port_list("5000-5003") == Ports{5000, 5001, 5002, 5003}));
  BOOST_TEST((parse_port_list("5000,5002") == Ports{5000, 5002}));
  BOOST_TEST((parse_port_list("5000-5001,5005") == Ports{5000, 5001, 5005}));
  BOOST_TEST((parse_port_list(" 5005 , 5000 - 5001 ") == Ports{5005, 5000, 5001}));
  BOOST_TEST((parse_port_list("1,65535") == Ports{1, 65535}));
  BOOST_TEST((parse_port_list("7-7") == Ports{7}));
}

BOOST_AUTO_TEST_CASE(bad_port_lists_are_usage_errors) {
  for (const char* bad : {"", " ", "0", "65536", "70000", "-5", "5000-", "-5000", "5003-5000",
                          "5000,5000", "5000-5002,5001", "abc", "50a0", "5000,,5001", "5000,",
                          "+5000", "5000-5001-5002", "1-2000", "99999999999999999999"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") { BOOST_CHECK_THROW(parse_port_list(bad), UsageError); }
  }
}

BOOST_AUTO_TEST_CASE(defaults) {
  const auto c = parse({"--ports", "5000-5001"});
  BOOST_TEST((c.ports == Ports{5000, 5001}));
  BOOST_TEST(c.bind_address == "0.0.0.0");
  BOOST_TEST(c.rcvbuf == 8u << 20);
  BOOST_TEST(c.reassembly.frame_timeout == 1.0);
  BOOST_TEST(c.reassembly.reorder_window == 16u);
  BOOST_TEST(c.reassembly.max_partial_frames == 16u);
  BOOST_TEST(c.reassembly.max_frame_bytes == 8u << 20);
  BOOST_TEST(c.queue_per_port == 64u);
  BOOST_TEST(c.stats_interval == 5.0);
  BOOST_TEST(c.dump_dir.empty());
}

BOOST_AUTO_TEST_CASE(every_flag_is_read) {
  const auto c = parse({"--ports",
                        "6000",
                        "--bind",
                        "127.0.0.1",
                        "--rcvbuf",
                        "1048576",
                        "--dump",
                        "/tmp/x",
                        "--frame-timeout",
                        "0.25",
                        "--reorder-window",
                        "4",
                        "--max-partial-frames",
                        "8",
                        "--max-frame-bytes",
                        "1000000",
                        "--max-partial-bytes",
                        "2000000",
                        "--queue-per-port",
                        "3",
                        "--stats-interval",
                        "0"});
  BOOST_TEST(c.bind_address == "127.0.0.1");
  BOOST_TEST(c.rcvbuf == 1048576u);
  BOOST_TEST(c.dump_dir == "/tmp/x");
  BOOST_TEST(c.reassembly.frame_timeout == 0.25);
  BOOST_TEST(c.reassembly.reorder_window == 4u);
  BOOST_TEST(c.reassembly.max_partial_frames == 8u);
  BOOST_TEST(c.reassembly.max_frame_bytes == 1000000u);
  BOOST_TEST(c.reassembly.max_partial_bytes == 2000000u);
  BOOST_TEST(c.queue_per_port == 3u);
  BOOST_TEST(c.stats_interval == 0.0);
}

BOOST_AUTO_TEST_CASE(bad_values_are_usage_errors) {
  const std::vector<std::vector<std::string>> bad{
      {"--ports", "5000", "--bind", "not-an-address"},
      {"--ports", "5000", "--rcvbuf", "-1"},
      {"--ports", "5000", "--frame-timeout", "0"},
      {"--ports", "5000", "--frame-timeout", "nan"},
      {"--ports", "5000", "--reorder-window", "0"},
      {"--ports", "5000", "--max-partial-frames", "0"},
      {"--ports", "5000", "--queue-per-port", "0"},
      {"--ports", "5000", "--stats-interval", "-1"},
      {"--ports", "5000", "--max-frame-bytes", "1000", "--max-partial-bytes", "999"},
      {"--ports", "5000", "--dump", ""},
  };
  for (const auto& args : bad) {
    BOOST_TEST_CONTEXT(args[2] << " " << args[3]) { BOOST_CHECK_THROW(parse(args), UsageError); }
  }
  // Unparsable numbers are rejected by the option parser itself (exit 2 as well).
  BOOST_CHECK_THROW(parse({"--ports", "5000", "--rcvbuf", "lots"}), boost::program_options::error);
}

BOOST_AUTO_TEST_CASE(stats_line_has_every_field) {
  PortStats st(5000);
  st.datagrams = 10;
  st.timed_out = 1;
  st.superseded = 2;
  st.evicted = 3;
  st.missing = 4;
  st.count_malformed(fh::shared::DecodeError::bad_magic);
  st.count_malformed(fh::shared::DecodeError::bad_magic);
  st.count_malformed(fh::shared::DecodeError::too_large);
  const auto line = format_stats_line(st.snapshot(), 12.5);
  for (const char* field : {"receiver-stats port=5000 ",
                            " datagrams=10 ",
                            " frames_incomplete=10 ",
                            " timed_out=1 ",
                            " superseded=2 ",
                            " evicted=3 ",
                            " missing=4 ",
                            " malformed=3 ",
                            " malformed_too_short=0 ",
                            " malformed_bad_magic=2 ",
                            " malformed_bad_version=0 ",
                            " malformed_bad_length=0 ",
                            " malformed_bad_index=0 ",
                            " malformed_bad_checksum=0 ",
                            " malformed_too_large=1 ",
                            " malformed_inconsistent=0 ",
                            " frames_discarded=0 ",
                            " frames_dropped=0 ",
                            " frames_delivered=0 ",
                            " duplicate_datagrams=0 ",
                            " fps=12.50"}) {
    BOOST_TEST_CONTEXT(field) { BOOST_TEST(line.find(field) != std::string::npos); }
  }
  BOOST_TEST(line.rfind(" fps=12.50") == line.size() - 10);
}

BOOST_AUTO_TEST_SUITE_END()
