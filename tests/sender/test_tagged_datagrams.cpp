// Integrity tags on the sender side: the chunker leaves room for the tag (datagrams never grow
// past --chunk-size), --key-file is parsed and checked, and framehive-sender's datagrams verify
// with the key and with no other.
#include <boost/test/unit_test.hpp>

#include "framehive/sender/chunker.hpp"
#include "framehive/sender/sender_options.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/datagram_tagger.hpp"
#include "framehive/shared/protocol.hpp"
#include "sender_test_util.hpp"
#include "stats_line.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

using fh::sender::Chunker;
using fh::sender::SenderOptions;
using fh::shared::DatagramTagger;
using fh::shared::DecodeError;
namespace proto = fh::shared;
namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

const std::string k_key = "sender-test-key-0123456789abcdef";

std::vector<std::uint8_t> bytes_of(std::size_t n) {
  std::mt19937 rng(11);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

/// A private temporary directory holding a key file.
struct KeyDir {
  std::string path = fh::test::make_temp_dir("sender-key");
  std::string key_file = path + "/datagram.key";
  KeyDir() {
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_REQUIRE(fd >= 0);
    const std::string line = k_key + "\n";
    BOOST_REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    ::close(fd);
  }
  ~KeyDir() { std::filesystem::remove_all(path); }
};

SenderOptions parse(const std::vector<std::string>& args) {
  po::options_description desc;
  SenderOptions::add_options(desc);
  std::vector<const char*> argv{"framehive-sender"};
  for (const auto& a : args) argv.push_back(a.c_str());
  po::variables_map vm;
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), desc), vm);
  po::notify(vm);
  return SenderOptions::from_vm(vm);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tagged_datagrams)

BOOST_AUTO_TEST_CASE(a_tagged_chunker_keeps_datagrams_within_the_chunk_size) {
  const auto jpeg = bytes_of(50'000);
  DatagramTagger tagger(k_key);
  DatagramTagger verifier(k_key);
  const Chunker c("cam", 0x1234, 1400, true, 5000);
  BOOST_TEST(c.tagged());
  BOOST_TEST(c.payload_size() == 1400u - 52 - 3 - 16);  // version 2: 8 more header bytes
  BOOST_TEST(Chunker::min_chunk_size("cam", true) == Chunker::min_chunk_size("cam") + 8 + 16);
  const auto datagrams = c.split(jpeg, 9, 1'700'000'000'000'000ULL, &tagger, 100);
  BOOST_REQUIRE(datagrams.size() == c.chunk_count(jpeg.size()));
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    const auto& d = datagrams[i];
    BOOST_TEST(d.size() <= 1400u);
    if (i + 1 < datagrams.size()) BOOST_TEST(d.size() == 1400u);
    BOOST_TEST((d[5] & proto::k_flag_tagged) != 0);
    proto::DecodedDatagram dd;
    BOOST_REQUIRE(proto::decode_tagged_datagram(d.data(), d.size(), 5000, verifier, dd) ==
                  DecodeError::none);
    BOOST_TEST(dd.header.counter == 100 + i);  // one counter per datagram
    BOOST_TEST(dd.header.key_id == verifier.key_id());
    joined.insert(joined.end(), dd.payload, dd.payload + dd.payload_size);
  }
  BOOST_TEST(joined == jpeg, boost::test_tools::per_element());
  // a tagged chunker needs a tagger, an untagged one takes none
  std::vector<std::uint8_t> out;
  BOOST_CHECK_THROW(c.encode_chunk(jpeg.data(), jpeg.size(), 0, 0, 0, out), std::invalid_argument);
  const Chunker plain("cam", 1, 1400);
  BOOST_CHECK_THROW(plain.encode_chunk(jpeg.data(), jpeg.size(), 0, 0, 0, out, &tagger),
                    std::invalid_argument);
  BOOST_CHECK_THROW(Chunker("cam", 1, 52 + 3 + 16, true), std::invalid_argument);
  BOOST_CHECK_NO_THROW(Chunker("cam", 1, 52 + 3 + 16 + 1, true));
}

BOOST_AUTO_TEST_CASE(key_file_option_sets_the_key_and_the_smallest_chunk_grows) {
  KeyDir dir;
  const auto o = parse(
      {"--source", "test:64x64", "--port", "5000", "--stream", "cam", "--key-file", dir.key_file});
  BOOST_TEST(o.datagram_key == k_key);
  BOOST_TEST(parse({"--source", "test:64x64", "--port", "5000"}).datagram_key.empty());
  BOOST_CHECK_NO_THROW(
      parse({"--source", "test:64x64", "--port", "5000", "--stream", "cam", "--key-file",
             dir.key_file, "--chunk-size", "72", "--motion", "off"}));
  // With motion the extension's 140 bytes come on top.
  BOOST_CHECK_NO_THROW(parse({"--source", "test:64x64", "--port", "5000", "--stream", "cam",
                              "--key-file", dir.key_file, "--chunk-size", "212"}));
  BOOST_CHECK_THROW(parse({"--source", "test:64x64", "--port", "5000", "--stream", "cam",
                           "--key-file", dir.key_file, "--chunk-size", "211"}),
                    fh::shared::UsageError);
  try {
    parse({"--source", "test:64x64", "--port", "5000", "--stream", "cam", "--key-file",
           dir.key_file, "--chunk-size", "71", "--motion", "off"});
    BOOST_TEST(false, "a chunk without room for the tag must be refused");
  } catch (const fh::shared::UsageError& e) {
    BOOST_TEST(std::string(e.what()).find("16-byte tag") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(sender_binary_tags_every_datagram) {
  KeyDir dir;
  fh::sender_test::UdpCollector sock;
  const std::string log = dir.path + "/sender.log";
  {
    fh::test::Child child(
        fh::test::bin("framehive-sender"),
        {"--source", "test:320x240", "--port", std::to_string(sock.port()), "--frames", "5",
         "--fps", "0", "--key-file", dir.key_file, "--stats-interval", "0"},
        log);
    BOOST_REQUIRE(child.wait(20s) == 0);
  }
  const auto stats = fh::test::stats_line(fh::test::read_file(log), "sender-stats");
  BOOST_REQUIRE(stats.count("datagrams"));
  const std::size_t n = std::stoul(stats.at("datagrams"));
  BOOST_REQUIRE(fh::test::poll_until([&] { return sock.count() >= n; }, 5s));
  DatagramTagger right(k_key);
  DatagramTagger wrong("some-other-key-0123456789abcdef");
  std::size_t verified = 0, forged = 0, other_port = 0;
  std::set<std::uint64_t> counters;
  const auto port = static_cast<std::uint16_t>(sock.port());
  for (const auto& d : sock.datagrams()) {
    BOOST_TEST(d.size() <= 1400u);
    proto::DecodedDatagram dd;
    const bool ok =
        proto::decode_tagged_datagram(d.data(), d.size(), port, right, dd) == DecodeError::none;
    verified += ok;
    if (ok) counters.insert(dd.header.counter);
    forged +=
        proto::decode_tagged_datagram(d.data(), d.size(), port, wrong, dd) == DecodeError::none;
    other_port +=
        proto::decode_tagged_datagram(d.data(), d.size(), port + 1, right, dd) == DecodeError::none;
  }
  BOOST_TEST(verified == n);
  BOOST_TEST(forged == 0u);
  BOOST_TEST(other_port == 0u);  // tagged for this port only
  // counters 0 .. n-1, each once
  BOOST_TEST(counters.size() == n);
  BOOST_TEST((!counters.empty() && *counters.begin() == 0u && *counters.rbegin() == n - 1));
}

BOOST_AUTO_TEST_SUITE_END()
