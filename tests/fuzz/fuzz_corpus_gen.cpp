// Writes the seed corpus of the datagram and jpeg fuzz targets (the xmlrpc seeds come from
// make_xmlrpc_corpus.py, as Python's xmlrpc.client sends them). The output is committed under
// tests/fuzz/corpus/; rerun after changing the datagram format or fuzz_datagram's input format:
//   cmake --build build --target fuzz_corpus_gen && build/bin/fuzz_corpus_gen tests/fuzz/corpus
#include "framehive/shared/protocol.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

void write(const fs::path& dir, const std::string& name, const Bytes& b) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  std::printf("%s/%s: %zu bytes\n", dir.c_str(), name.c_str(), b.size());
}

/// The frame a sender would cut into chunks: JPEG-like bytes.
Bytes frame_bytes(std::size_t n, std::uint8_t seed) {
  Bytes f(n);
  for (std::size_t i = 0; i < n; ++i) f[i] = static_cast<std::uint8_t>(i * 31 + seed);
  f[0] = 0xFF, f[1] = 0xD8, f[2] = 0xFF, f[n - 2] = 0xFF, f[n - 1] = 0xD9;
  return f;
}

/// Datagrams of one frame, as fh::sender's chunker makes them.
std::vector<Bytes> chunks(const Bytes& frame, std::uint64_t session, std::uint32_t seq,
                          std::size_t chunk, const std::string& stream = "cam",
                          std::uint8_t version = fh::shared::k_version,
                          const fh::shared::MotionExtension* motion = nullptr) {
  std::vector<Bytes> out;
  const std::size_t count = (frame.size() + chunk - 1) / chunk;
  for (std::size_t i = 0; i < count; ++i) {
    fh::shared::DatagramHeader h;
    h.session = session;
    h.frame_seq = seq;
    h.chunk_index = static_cast<std::uint16_t>(i);
    h.chunk_count = static_cast<std::uint16_t>(count);
    h.frame_len = static_cast<std::uint32_t>(frame.size());
    h.capture_us = 1'700'000'000'000'000ULL + seq * 40'000ULL;
    h.version = version;
    h.counter = i;
    h.stream = stream;
    if (motion) {
      h.flags |= fh::shared::k_flag_motion;
      h.motion = *motion;
    }
    const std::size_t off = i * chunk;
    const std::size_t n = std::min(chunk, frame.size() - off);
    Bytes d;
    fh::shared::encode_datagram(h, frame.data() + off, n, d);
    out.push_back(std::move(d));
  }
  return out;
}

/// fuzz_datagram's input: a config header, then operations (see fuzz_datagram.cpp).
class Program {
 public:
  /// Default-like limits: 1 s timeout, window 16, 16 partial frames, 256 KiB frames, 1 MiB.
  Program() { b_ = {9, 16, 16, 0xFF, 0xFF, 0xFF, 0xFF}; }
  Program& raw(const Bytes& d, std::uint8_t port = 0) {
    b_.push_back(static_cast<std::uint8_t>(port << 3 | 0));
    b_.push_back(static_cast<std::uint8_t>(d.size() >> 8));
    b_.push_back(static_cast<std::uint8_t>(d.size()));
    b_.insert(b_.end(), d.begin(), d.end());
    return *this;
  }
  Program& raw_fix_crc(const Bytes& d) {
    raw(d);
    b_[b_.size() - d.size() - 3] = 2;
    return *this;
  }
  Program& advance(std::uint8_t ten_ms) {
    b_.push_back(5);
    b_.push_back(ten_ms);
    return *this;
  }
  Program& drop_all() { return op(6); }
  Program& repeat() { return op(7); }
  /// Operation 3 or 4 with explicit fields: flags, session selector, seq, frame length
  /// (1..4096), chunk size (1..1024), (with flag 0x20: the counter rewind - 1), (with flag
  /// 0x40: the motion extension), then index (3) or order and skipped index (4).
  Program& valid(std::uint8_t opcode, std::uint8_t flags, std::uint8_t sess, std::uint16_t seq,
                 std::uint16_t len, std::uint16_t chunk, std::uint16_t a, std::uint8_t b = 0xFF,
                 std::uint8_t rewind = 0, const fh::shared::MotionExtension& motion = {}) {
    b_.insert(b_.end(), {opcode, flags, sess});
    put16(seq);
    put16(static_cast<std::uint16_t>(len - 1));
    put16(static_cast<std::uint16_t>(chunk - 1));
    if (flags & 0x20) b_.push_back(rewind);
    if (flags & 0x40) {
      b_.push_back(motion.flags);
      put16(motion.score);
      put16(static_cast<std::uint16_t>(motion.gated));
      b_.push_back(static_cast<std::uint8_t>(motion.boxes.size()));
      for (const auto& box : motion.boxes) {
        put16(box.x);
        put16(box.y);
        put16(box.w);
        put16(box.h);
      }
    }
    if (opcode == 3) {
      put16(a);
    } else {
      b_.push_back(static_cast<std::uint8_t>(a));
      b_.push_back(b);
    }
    return *this;
  }
  const Bytes& bytes() const { return b_; }

 private:
  Program& op(std::uint8_t o) {
    b_.push_back(o);
    return *this;
  }
  void put16(std::uint16_t v) {
    b_.push_back(static_cast<std::uint8_t>(v >> 8));
    b_.push_back(static_cast<std::uint8_t>(v));
  }
  Bytes b_;  ///< the input so far
};

void datagram_corpus(const fs::path& dir) {
  const auto f0 = chunks(frame_bytes(3000, 1), 0x1111, 0, 1000);
  const auto f1 = chunks(frame_bytes(2500, 2), 0x1111, 1, 1000);
  const auto f3 = chunks(frame_bytes(1200, 3), 0x1111, 3, 1000);
  const auto one = chunks(frame_bytes(700, 4), 0x2222, 0, 1000, "lobby");

  // A single valid datagram, nothing else: the whole input goes to the parser too.
  write(dir, "single_datagram", one[0]);

  Program in_order;
  for (const auto& d : f0) in_order.raw(d);
  for (const auto& d : f1) in_order.raw(d);
  write(dir, "two_frames_in_order", in_order.bytes());

  // Reordered, duplicated, a gap (seq 2 missing), a late chunk after the timeout.
  Program messy;
  messy.raw(f0[2]).raw(f0[0]).repeat().raw(f0[1]);
  messy.raw(f1[1]).raw(f3[0]).raw(f3[1]);
  messy.advance(120).raw(f1[0]).raw(f1[2]);
  write(dir, "reorder_dup_gap_timeout", messy.bytes());

  // Two ports, two sessions, a restarted sender, a port that is not ours.
  Program ports;
  ports.raw(one[0], 1).raw(f0[0], 0).raw(one[0], 2);
  const auto restarted = chunks(frame_bytes(1500, 5), 0x3333, 0, 1000);
  for (const auto& d : restarted) ports.raw(d, 0);
  ports.drop_all();
  write(dir, "ports_and_sessions", ports.bytes());

  // Malformed: truncated, bad magic, bad version, bad CRC, length mismatch, bad index.
  Program bad;
  Bytes d = f0[0];
  bad.raw(Bytes(d.begin(), d.begin() + 20));
  Bytes m = d;
  m[0] ^= 0xFF;
  bad.raw(m);
  m = d;
  m[4] = 3;  // versions 1 and 2 exist
  bad.raw(m);
  m = d;
  m[100] ^= 1;
  bad.raw(m);
  m = d;
  m.pop_back();
  bad.raw(m);
  m = d;
  m[21] = 9;  // chunk_index 9 of 3
  bad.raw_fix_crc(m);
  m = d;
  m[27] = 0xF0;  // frame_len disagrees with the chunks
  bad.raw_fix_crc(m);
  write(dir, "malformed", bad.bytes());

  // The generated operations: whole frames (one chunk skipped), single chunks, timeouts.
  Program gen;
  gen.valid(4, 0, 1, 0, 4000, 700, 0).valid(4, 0, 1, 1, 4000, 700, 1, 3);
  gen.valid(3, 0, 1, 1, 4000, 700, 3).valid(4, 4, 2, 7, 300, 1000, 0);
  gen.advance(50).valid(3, 1, 3, 40, 4000, 1000, 2).advance(200);
  gen.valid(4, 0, 1, 100, 900, 100, 1).drop_all();
  write(dir, "generated_ops", gen.bytes());

  // Tight caps: two partial frames, 4 KiB partial bytes, window 1, 50 ms timeout.
  Program tight;
  Bytes t = tight.bytes();
  t[0] = 0, t[1] = 1, t[2] = 2, t[3] = 0x04, t[4] = 0x00, t[5] = 0x01, t[6] = 0x00;
  Program rest;
  rest.valid(3, 0, 1, 0, 3000, 1000, 0).valid(3, 0, 1, 1, 3000, 1000, 0);
  rest.valid(3, 0, 1, 2, 3000, 1000, 0).valid(4, 0, 1, 3, 3000, 1000, 0);
  rest.valid(3, 0, 9, 4, 3000, 1000, 1).advance(10);
  t.insert(t.end(), rest.bytes().begin() + 7, rest.bytes().end());
  write(dir, "tight_caps", t);

  // With an integrity key (bit 7 of the first byte): the valid operations carry tags
  // (version 2, a counter per session), the raw untagged datagrams are bad_tag, a raw version-1
  // datagram with its tag bit set is bad_version, a raw version-2 one has its tag fixed up by
  // op 2, and the last one is repeated (op 7): replayed.
  Bytes keyed = gen.bytes();
  keyed[0] |= 0x80;
  Program more;
  Bytes flagged = f0[0];
  flagged[5] = 1;  // k_flag_tagged: op 2 recomputes the CRC and appends the right tag
  flagged.insert(flagged.end(), 16, 0);
  Bytes v2 = chunks(frame_bytes(1500, 9), 0x2222, 0, 1500, "v2", 2)[0];
  v2[5] = 1;
  v2.insert(v2.end(), 16, 0);
  more.raw(f0[1]).raw_fix_crc(flagged).raw_fix_crc(v2).repeat();
  keyed.insert(keyed.end(), more.bytes().begin() + 7, more.bytes().end());
  write(dir, "keyed", keyed);

  // Replays with a key: a frame, one of its chunks again with a counter already used (flag
  // 0x20; flags 0x21 puts it on the frame's port, flags % 3 = 0), the same frame again (new
  // counters: duplicates), another session on the other port, its last datagram repeated.
  // Without a key (bit 7 of the first byte clear) the same input sends version-2 untagged
  // chunks.
  Program replay;
  replay.valid(4, 0, 1, 0, 3000, 1000, 0).valid(3, 0x21, 1, 0, 3000, 1000, 1, 0xFF, 1);
  replay.valid(4, 0, 1, 0, 3000, 1000, 0).valid(4, 1, 2, 0, 2000, 1000, 1).repeat();
  Bytes keyed_replay = replay.bytes();
  keyed_replay[0] |= 0x80;
  write(dir, "keyed_replay", keyed_replay);
  write(dir, "version_2_untagged", replay.bytes());

  // The motion extension (framehive-sender --motion flag|gate): a frame carrying one; a frame
  // whose first chunk seen has another score than its other chunks (those are inconsistent),
  // timed out (its gated frames stay counted); an extension of a later version (4 more bytes,
  // skipped); a chunk with the extension's flag but too short for it (bad_length).
  fh::shared::MotionExtension moving;
  moving.flags = fh::shared::k_motion_moving;
  moving.score = 1234;
  moving.gated = 3;
  moving.boxes = {{0, 0, 32767, 65535}, {40000, 1000, 25535, 500}};
  fh::shared::MotionExtension keepalive;
  keepalive.flags = fh::shared::k_motion_keepalive;
  keepalive.gated = 5;
  auto other = keepalive;
  other.score = 1;
  const auto m0 = chunks(frame_bytes(2500, 11), 0x4444, 0, 1000, "cam", 1, &moving);
  const auto m1 = chunks(frame_bytes(2500, 12), 0x4444, 1, 1000, "cam", 1, &keepalive);
  const auto m1_odd = chunks(frame_bytes(2500, 12), 0x4444, 1, 1000, "cam", 1, &other);
  Bytes later = chunks(frame_bytes(600, 13), 0x4444, 2, 1000, "cam", 1, &moving)[0];
  const std::size_t ext = fh::shared::k_fixed_header_bytes + 3;  // after "cam"
  later[ext] = 2;                                                // extension version 2
  later[ext + 1] = static_cast<std::uint8_t>(later[ext + 1] + 4);
  later.insert(later.begin() + static_cast<std::ptrdiff_t>(ext + later[ext + 1] - 4), 4, 0xEE);
  Bytes short_ext = m0[0];
  short_ext.resize(ext + 6);
  Program motion;
  for (const auto& d : m0) motion.raw(d);
  motion.raw(m1_odd[1]).raw(m1[1]).raw(m1[0]).repeat().advance(120);
  motion.raw(later).raw(short_ext);
  // Generated: a whole frame with an extension (reversed), one whose chunk after the skipped
  // one has another score, then the presence flipped, single chunks with extensions.
  motion.valid(4, 0x40, 1, 10, 3000, 700, 1, 0xFF, 0, moving)
      .valid(4, 0x40, 1, 11, 3000, 700, 2 | 4, 0, 0, keepalive)
      .valid(4, 0x40, 1, 12, 3000, 700, 2, 1, 0, moving)
      .valid(3, 0x40, 2, 0, 2000, 1000, 0, 0xFF, 0, moving)
      .valid(3, 0x40, 2, 0, 2000, 1000, 1, 0xFF, 0, moving)
      .drop_all();
  write(dir, "motion", motion.bytes());
  // The same with a key: the valid operations carry tags, the raw untagged ones are bad_tag.
  Bytes motion_keyed = motion.bytes();
  motion_keyed[0] |= 0x80;
  write(dir, "motion_keyed", motion_keyed);
}

Bytes jpeg(const cv::Mat& img, std::vector<int> params) {
  std::vector<std::uint8_t> out;
  cv::imencode(".jpg", img, out, params);
  return out;
}

void jpeg_corpus(const fs::path& dir) {
  cv::Mat color(24, 32, CV_8UC3);
  for (int y = 0; y < color.rows; ++y) {
    for (int x = 0; x < color.cols; ++x) {
      color.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 8), static_cast<uchar>(y * 10),
                                            static_cast<uchar>((x ^ y) * 16));
    }
  }
  cv::Mat gray;
  cv::cvtColor(color, gray, cv::COLOR_BGR2GRAY);
  write(dir, "color_32x24_q75.jpg", jpeg(color, {cv::IMWRITE_JPEG_QUALITY, 75}));
  write(dir, "gray_32x24_q50.jpg", jpeg(gray, {cv::IMWRITE_JPEG_QUALITY, 50}));
  write(dir, "progressive_32x24.jpg",
        jpeg(color, {cv::IMWRITE_JPEG_QUALITY, 80, cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  write(dir, "restart_32x24.jpg",
        jpeg(color, {cv::IMWRITE_JPEG_QUALITY, 60, cv::IMWRITE_JPEG_RST_INTERVAL, 1}));
  write(dir, "optimized_8x8.jpg",
        jpeg(color(cv::Rect(0, 0, 8, 8)), {cv::IMWRITE_JPEG_OPTIMIZE, 1}));
  Bytes padded = jpeg(gray(cv::Rect(0, 0, 16, 16)), {cv::IMWRITE_JPEG_QUALITY, 90});
  padded.insert(padded.end(), 3, 0x00);  // zero padding after EOI, which decode_jpeg allows
  write(dir, "padded_16x16.jpg", padded);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_corpus_gen <corpus dir>  (e.g. tests/fuzz/corpus)\n");
    return 2;
  }
  const fs::path root(argv[1]);
  datagram_corpus(root / "datagram");
  jpeg_corpus(root / "jpeg");
  return 0;
}
