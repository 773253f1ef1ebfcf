// UDP ingest benchmark for the receiver: goodput and frame loss of fh::receiver::Receiver
// against the raw kernel UDP rate measured in the same run, on loopback, per datagram size.
//
// For each datagram size S (default 1400, 8972 and 64000) three phases of --seconds each, all fed
// by the SAME blasting sender thread (fh::sender::Chunker datagrams of exactly S bytes, sent with
// fh::sender::UdpSender, frame_seq patched per frame so the CRC stays valid):
//   raw    a plain blocking recv() loop on a socket bound to 127.0.0.1 with the receiver's
//          SO_RCVBUF request (SO_RCVBUFFORCE, then SO_RCVBUF): the kernel's rate on this box;
//   full   the real Receiver (in process, a counting sink), sender unpaced;
//   paced  the real Receiver, sender paced by fh::sender::RateLimiter at half the raw
//          datagram rate of this run (target: zero frames lost).
// Rates are counted over the sender's window [first send, last send]; losses after draining.
// Goodput counts frames the Receiver handed to its sink; a frame is lost when it never got there
// (a datagram dropped, or the frame dropped by the receiver's queue).
// MB = 10^6 bytes. Prints key=value detail lines and a Markdown table (median over --runs).
// Targets (issue 13): the receiver takes >= 90% of the raw datagram rate and loses 0 frames
// paced at half of it, for datagrams that cross a network unfragmented: S + 28 (IPv4 + UDP
// headers) <= 9000, a jumbo frame's MTU (1400 B: Ethernet; 8972 B: jumbo). Larger sizes (64000 B)
// fragment on real networks: information only.
#include "framehive/receiver/frame_sink.hpp"
#include "framehive/receiver/receiver.hpp"
#include "framehive/receiver/receiver_config.hpp"
#include "framehive/sender/chunker.hpp"
#include "framehive/sender/rate_limiter.hpp"
#include "framehive/sender/udp_sender.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// IPv4 + UDP header bytes: the real sender's pacer counts them, so does ours.
constexpr std::size_t k_ip_udp_overhead = 28;
constexpr const char* k_stream = "bench";
/// Largest IP packet with targets: a jumbo frame's MTU. Bigger datagrams fragment.
constexpr std::size_t k_jumbo_mtu = 9000;
/// Receiver datagrams/s as a share of raw, and paced loss, targeted for sizes within the MTU.
constexpr double k_target_pct = 90.0;

/// Whether size has targets (crosses a jumbo-frame network unfragmented).
bool targeted(std::size_t size) { return size + k_ip_udp_overhead <= k_jumbo_mtu; }

double mono() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// A field of the "Udp:" lines of /proc/net/snmp (system-wide), -1 when unreadable.
long long udp_snmp(const std::string& field) {
  std::ifstream in("/proc/net/snmp");
  std::string names, values;
  while (std::getline(in, names)) {
    if (names.rfind("Udp:", 0) != 0) continue;
    if (!std::getline(in, values)) break;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value) {
      if (name == field) return std::stoll(value);
    }
  }
  return -1;
}

/// Context switches (voluntary, involuntary) so far of this process's threads named comm: how
/// often the receiving side slept and was woken, or was preempted.
std::pair<long long, long long> ctx_switches(const std::string& comm) {
  std::pair<long long, long long> sum{0, 0};
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream c(task.path() / "comm");
    std::string name;
    std::getline(c, name);
    if (name != comm) continue;
    std::ifstream st(task.path() / "status");
    std::string line;
    while (std::getline(st, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        sum.first += std::atoll(line.c_str() + 24);
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        sum.second += std::atoll(line.c_str() + 27);
      }
    }
  }
  return sum;
}

/// The "drops" column of /proc/net/udp for the socket bound to 127.0.0.1:port (per-socket
/// kernel drops, unaffected by other processes), -1 when not found.
long long socket_drops(std::uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  char want[32];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string slot, local;
    s >> slot >> local;
    if (local != want) continue;
    std::string field;
    long long last = -1;
    while (s >> field) last = std::atoll(field.c_str());
    return last;
  }
  return -1;
}

/// SO_RCVBUF as the kernel reports it halved (what was granted) for the UDP socket of this
/// process bound to port, 0 when none is found. Lets us read the Receiver's own socket.
std::size_t granted_rcvbuf_of_port(std::uint16_t port) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) continue;
    int type = 0;
    socklen_t tl = sizeof type;
    if (a.sin_family != AF_INET || ntohs(a.sin_port) != port ||
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM) {
      continue;
    }
    int got = 0;
    socklen_t gl = sizeof got;
    if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0) return got / 2;
  }
  return 0;
}

/// Opens a UDP socket bound to 127.0.0.1:port (0 = any free port).
int bound_udp_socket(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

/// A free UDP port on 127.0.0.1 (bound, read back, released).
std::uint16_t free_port() {
  const int fd = bound_udp_socket(0);
  const auto port = local_port(fd);
  ::close(fd);
  return port;
}

/// Waits until counter() has not moved for 100 ms (at most 3 s).
template <typename F>
void wait_quiet(F counter) {
  const double give_up = mono() + 3.0;
  auto last = counter();
  int still = 0;
  while (still < 5 && mono() < give_up) {
    std::this_thread::sleep_for(20ms);
    const auto now = counter();
    still = now == last ? still + 1 : 0;
    last = now;
  }
}

// ---------------------------------------------------------------------------------------------

/// One frame's datagrams, built once by the sender library's Chunker; each frame only patches
/// its frame_seq (header bytes 16..19, not covered by the payload CRC).
struct Workload {
  std::size_t datagram_size = 0;                  ///< S: every datagram is exactly this long
  std::size_t frame_bytes = 0;                    ///< payload ("JPEG") bytes per frame
  std::vector<std::vector<std::uint8_t>> chunks;  ///< datagrams of frame 0

  Workload(std::size_t size, std::size_t frame_target) : datagram_size(size) {
    const fh::sender::Chunker chunker(k_stream, 0x0123456789abcdefULL, size);
    // A whole number of full chunks so every datagram is exactly `size` bytes.
    const std::size_t n = std::max<std::size_t>(
        1, (frame_target + chunker.payload_size() - 1) / chunker.payload_size());
    frame_bytes = n * chunker.payload_size();
    std::vector<std::uint8_t> frame(frame_bytes);
    std::uint32_t x = 2463534242u;  // xorshift: incompressible, deterministic content
    for (auto& b : frame) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      b = static_cast<std::uint8_t>(x);
    }
    chunks = chunker.split(frame, 0, fh::shared::unix_micros());
  }
  std::size_t chunks_per_frame() const { return chunks.size(); }
};

/// What one blast did.
struct SendResult {
  std::uint64_t frames = 0;     ///< whole frames sent
  std::uint64_t datagrams = 0;  ///< datagrams that left (send() true)
  std::uint64_t errors = 0;     ///< datagrams UdpSender gave up on
  double t0 = 0, t1 = 0;        ///< monotonic first and last send
  double cpu = 0;               ///< sender thread CPU seconds (includes loopback delivery)
};

/// The sender thread: whole frames to 127.0.0.1:port for `seconds`, as fast as possible or
/// paced at rate_bps (bytes/s, IP+UDP headers counted as the real sender does).
class Blaster {
 public:
  Blaster(const Workload& w, std::uint16_t port, double seconds, double rate_bps)
      : w_(w), port_(port), seconds_(seconds), rate_bps_(rate_bps) {}

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  /// Monotonic time the first datagram goes out (spins until the thread is ready).
  double started() const {
    while (!started_.load()) std::this_thread::yield();
    return result_.t0;
  }
  SendResult join() {
    thread_.join();
    return result_;
  }

 private:
  void run() {
    pthread_setname_np(pthread_self(), "fh-blast");
    fh::sender::UdpSender tx("127.0.0.1", port_);
    const double wire = static_cast<double>(w_.datagram_size + k_ip_udp_overhead);
    // The real sender's bucket depth: 2 datagrams or 2 ms of traffic.
    fh::sender::RateLimiter limiter(rate_bps_, std::max(2.0 * wire, rate_bps_ * 0.002));
    auto chunks = w_.chunks;
    const double cpu0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    result_.t0 = mono();
    started_.store(true);
    const double end = result_.t0 + seconds_;
    double now = result_.t0;
    std::uint32_t seq = 0;
    while (now < end) {
      const std::uint8_t be[4] = {
          static_cast<std::uint8_t>(seq >> 24), static_cast<std::uint8_t>(seq >> 16),
          static_cast<std::uint8_t>(seq >> 8), static_cast<std::uint8_t>(seq)};
      for (auto& c : chunks) {
        std::memcpy(c.data() + 16, be, 4);
        if (limiter.enabled()) {
          const double wait = limiter.reserve(c.size() + k_ip_udp_overhead, mono());
          if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        }
        const iovec one{c.data(), c.size()};
        result_.datagrams += tx.send_batch(&one, 1);
      }
      ++seq;
      ++result_.frames;
      now = mono();
    }
    result_.t1 = now;
    result_.errors = tx.send_errors();
    result_.cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  }

  const Workload& w_;
  std::uint16_t port_;
  double seconds_;
  double rate_bps_;
  SendResult result_;
  std::atomic<bool> started_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------

struct RawResult {
  double dgram_per_s = 0;        ///< datagrams received per second of the sender's window
  double mb_per_s = 0;           ///< UDP payload MB/s (whole datagrams)
  double rx_cpu = 0;             ///< receive side CPU, cores (process minus sender thread)
  double rx_us_per_dgram = 0;    ///< receive side CPU per datagram taken in, microseconds
  double rx_ctx_per_kdgram = 0;  ///< receive thread's context switches per 1000 datagrams
  double tx_dgram_per_s = 0;     ///< what the sender managed
  std::uint64_t sent = 0, received = 0, send_errors = 0;
  long long rcvbuf_errors = 0, socket_drops = 0;
  std::size_t rcvbuf = 0;
};

/// The plain loop: blocking recv() on one socket, count datagrams and bytes.
RawResult run_raw(const Workload& w, double seconds, std::size_t rcvbuf_request) {
  const int fd = bound_udp_socket(0);
  const auto port = local_port(fd);
  const int want = static_cast<int>(rcvbuf_request);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  timeval tv{0, 50000};  // lets the loop notice `done`
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  RawResult r;
  r.rcvbuf = granted_rcvbuf_of_port(port);

  std::atomic<std::uint64_t> datagrams{0}, bytes{0};
  std::atomic<bool> done{false};
  std::thread rx([&] {
    pthread_setname_np(pthread_self(), "fh-raw-rx");
    std::vector<std::uint8_t> buf(fh::shared::k_max_datagram + 1);
    std::uint64_t n = 0, b = 0;
    while (!done.load(std::memory_order_relaxed)) {
      const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
      if (got < 0) continue;
      b += static_cast<std::uint64_t>(got);
      datagrams.store(++n, std::memory_order_relaxed);
      bytes.store(b, std::memory_order_relaxed);
    }
  });

  const long long errs0 = udp_snmp("RcvbufErrors");
  Blaster blaster(w, port, seconds, 0);
  blaster.start();
  blaster.started();
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto ctx0 = ctx_switches("fh-raw-rx");
  const auto s = blaster.join();
  const double cpu1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto ctx1 = ctx_switches("fh-raw-rx");
  const auto in_window = datagrams.load();
  const auto bytes_in_window = bytes.load();
  wait_quiet([&] { return datagrams.load(); });
  r.socket_drops = socket_drops(port);
  done = true;
  rx.join();
  ::close(fd);

  const double t = s.t1 - s.t0;
  r.dgram_per_s = static_cast<double>(in_window) / t;
  r.mb_per_s = static_cast<double>(bytes_in_window) / t / 1e6;
  r.rx_cpu = (cpu1 - cpu0 - s.cpu) / t;
  r.rx_us_per_dgram = in_window ? (cpu1 - cpu0 - s.cpu) / static_cast<double>(in_window) * 1e6 : 0;
  r.rx_ctx_per_kdgram =
      in_window ? static_cast<double>(ctx1.first + ctx1.second - ctx0.first - ctx0.second) /
                      static_cast<double>(in_window) * 1e3
                : 0;
  r.tx_dgram_per_s = static_cast<double>(s.datagrams) / t;
  r.sent = s.datagrams;
  r.send_errors = s.errors;
  r.received = datagrams.load();
  r.rcvbuf_errors = udp_snmp("RcvbufErrors") - errs0;
  return r;
}

// ---------------------------------------------------------------------------------------------

/// Counts what the Receiver hands on; checks sizes. Consumer thread only, counters atomic.
class CountingSink final : public fh::receiver::FrameSink {
 public:
  explicit CountingSink(std::size_t frame_bytes) : frame_bytes_(frame_bytes) {}
  void deliver(std::vector<fh::receiver::ReceivedFrame>& batch, std::vector<bool>&) override {
    for (const auto& f : batch) {
      if (f.jpeg.size() == frame_bytes_) {
        frames.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(f.jpeg.size(), std::memory_order_relaxed);
      } else {
        bad.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  std::string name() const override { return "count"; }

  std::atomic<std::uint64_t> frames{0}, bytes{0}, bad{0};

 private:
  std::size_t frame_bytes_;
};

struct RxResult {
  double goodput_mb_per_s = 0;    ///< payload bytes of frames handed to the sink per second
  double frames_per_s = 0;        ///< frames handed to the sink per second
  double dgram_per_s = 0;         ///< datagrams the receiver took in per second
  double rx_cpu = 0;              ///< receiver threads' CPU, cores
  double rx_us_per_dgram = 0;     ///< receiver threads' CPU per datagram taken in, microseconds
  double rx_ctx_per_kdgram = 0;   ///< receiver threads' context switches per 1000 datagrams
  double tx_dgram_per_s = 0;      ///< what the sender managed
  double target_dgram_per_s = 0;  ///< what the pacer was asked for (0 = unpaced)
  std::uint64_t frames_sent = 0, frames_complete = 0, frames_incomplete = 0;
  std::uint64_t frames_dropped = 0, frames_delivered = 0, bad_frames = 0, malformed = 0;
  std::uint64_t sent = 0, received = 0, send_errors = 0;
  long long rcvbuf_errors = 0, socket_drops = 0;
  std::size_t rcvbuf = 0;
  /// Frames that never reached the sink: lost datagrams, or dropped by the receiver's queue.
  std::uint64_t lost() const { return frames_sent - frames_delivered; }
};

/// The real Receiver on a fresh port, fed by the blaster (rate_bps 0 = unpaced).
RxResult run_receiver(const Workload& w, double seconds, std::size_t rcvbuf_request,
                      double rate_bps) {
  fh::receiver::ReceiverConfig cfg;
  cfg.bind_address = "127.0.0.1";
  cfg.ports = {free_port()};
  cfg.rcvbuf = rcvbuf_request;
  cfg.stats_interval = 0;
  const auto port = cfg.ports[0];
  auto sink = std::make_unique<CountingSink>(w.frame_bytes);
  auto* counting = sink.get();
  fh::receiver::Receiver receiver(cfg, std::move(sink));
  RxResult r;
  r.rcvbuf = granted_rcvbuf_of_port(port);
  std::ostringstream final_stats;
  std::thread io([&] {
    // The consumer thread, started from run(), inherits the name.
    pthread_setname_np(pthread_self(), "fh-receiver");
    receiver.run(final_stats);
  });
  const auto& st = *receiver.stats().find(port);

  const long long errs0 = udp_snmp("RcvbufErrors");
  Blaster blaster(w, port, seconds, rate_bps);
  blaster.start();
  blaster.started();
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto ctx0 = ctx_switches("fh-receiver");
  const auto s = blaster.join();
  const double cpu1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto ctx1 = ctx_switches("fh-receiver");
  const auto dgrams_in_window = st.datagrams.load();
  const auto frames_in_window = counting->frames.load();
  wait_quiet([&] { return st.datagrams.load(); });
  r.socket_drops = socket_drops(port);
  receiver.stop();
  io.join();
  r.rcvbuf_errors = udp_snmp("RcvbufErrors") - errs0;

  const double t = s.t1 - s.t0;
  const auto snap = st.snapshot();
  r.frames_per_s = static_cast<double>(frames_in_window) / t;
  r.goodput_mb_per_s = r.frames_per_s * static_cast<double>(w.frame_bytes) / 1e6;
  r.dgram_per_s = static_cast<double>(dgrams_in_window) / t;
  r.rx_cpu = (cpu1 - cpu0 - s.cpu) / t;
  r.rx_us_per_dgram =
      dgrams_in_window ? (cpu1 - cpu0 - s.cpu) / static_cast<double>(dgrams_in_window) * 1e6 : 0;
  r.rx_ctx_per_kdgram =
      dgrams_in_window ? static_cast<double>(ctx1.first + ctx1.second - ctx0.first - ctx0.second) /
                             static_cast<double>(dgrams_in_window) * 1e3
                       : 0;
  r.tx_dgram_per_s = static_cast<double>(s.datagrams) / t;
  r.target_dgram_per_s = rate_bps / static_cast<double>(w.datagram_size + k_ip_udp_overhead);
  r.frames_sent = s.frames;
  r.frames_complete = snap.frames_complete;
  r.frames_incomplete = snap.frames_incomplete();
  r.frames_dropped = snap.frames_dropped;
  r.frames_delivered = counting->frames.load();
  r.bad_frames = counting->bad.load();
  r.malformed = snap.malformed();
  r.sent = s.datagrams;
  r.send_errors = s.errors;
  r.received = snap.datagrams;
  return r;
}

// ---------------------------------------------------------------------------------------------

struct Args {
  double seconds = 2.0;
  int runs = 3;
  std::vector<std::size_t> sizes{1400, 8972, 64000};
  std::size_t frame_target = 77000;  ///< about a vtest frame as JPEG q80
  std::size_t rcvbuf = 8u << 20;     ///< the receiver's default --rcvbuf
  std::string log_level = "warn";
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--seconds") {
      a.seconds = std::stod(v);
    } else if (k == "--runs") {
      a.runs = std::stoi(v);
    } else if (k == "--frame-bytes") {
      a.frame_target = std::stoul(v);
    } else if (k == "--rcvbuf") {
      a.rcvbuf = std::stoul(v);
    } else if (k == "--log-level") {
      a.log_level = v;
    } else if (k == "--sizes") {
      a.sizes.clear();
      std::istringstream s(v);
      std::string item;
      while (std::getline(s, item, ',')) a.sizes.push_back(std::stoul(item));
    } else {
      throw std::runtime_error("unknown flag " + k);
    }
  }
  if (a.seconds <= 0 || a.runs < 1 || a.sizes.empty()) {
    throw std::runtime_error("--seconds must be > 0, --runs >= 1, --sizes not empty");
  }
  return a;
}

/// One size, one run: the numbers of the table row.
struct Row {
  std::size_t size = 0;
  RawResult raw;
  RxResult full, paced;
  double pct_goodput = 0;  ///< datagrams/s of delivered frames as % of raw datagrams/s
  double pct_dgram = 0;    ///< datagrams/s taken in as % of raw datagrams/s
};

/// "lost/sent (x%)", plus "at N of M dgram/s" for a paced run (the pacer may fall short).
std::string loss_cell(const RxResult& r) {
  char b[128];
  const int n = std::snprintf(
      b, sizeof b, "%llu/%llu (%.2f%%)", static_cast<unsigned long long>(r.lost()),
      static_cast<unsigned long long>(r.frames_sent),
      r.frames_sent ? 100.0 * static_cast<double>(r.lost()) / static_cast<double>(r.frames_sent)
                    : 0.0);
  if (r.target_dgram_per_s > 0 && n > 0) {
    std::snprintf(b + n, sizeof b - static_cast<std::size_t>(n), " at %.0f of %.0f dgram/s",
                  r.tx_dgram_per_s, r.target_dgram_per_s);
  }
  return b;
}

void print_table(const std::vector<Row>& rows, const std::string& title) {
  std::printf("\n%s\n\n", title.c_str());
  std::printf(
      "| datagram | raw MB/s | raw dgram/s | raw CPU us/dgram | receiver goodput MB/s | "
      "frames/s | dgram/s | receiver CPU us/dgram | ctx switches per 1k dgram (raw / receiver) "
      "| %% of raw (goodput / dgram) | frames lost, full speed | frames lost, paced at 1/2 raw "
      "|\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
  for (const auto& r : rows) {
    std::printf(
        "| %zu B | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.2f | %.1f / %.1f | %.1f%% / %.1f%% "
        "| %s | %s |\n",
        r.size, r.raw.mb_per_s, r.raw.dgram_per_s, r.raw.rx_us_per_dgram, r.full.goodput_mb_per_s,
        r.full.frames_per_s, r.full.dgram_per_s, r.full.rx_us_per_dgram, r.raw.rx_ctx_per_kdgram,
        r.full.rx_ctx_per_kdgram, r.pct_goodput, r.pct_dgram, loss_cell(r.full).c_str(),
        loss_cell(r.paced).c_str());
  }
  std::fflush(stdout);
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << "bench_receiver [--seconds S (2)] [--runs N (3)] [--sizes 1400,8972,64000]\n"
                 "               [--frame-bytes B (77000)] [--rcvbuf BYTES (8388608)]"
                 " [--log-level L (warn)]\n"
                 "Per datagram size: raw recv() loop, Receiver at full speed, Receiver paced at\n"
                 "half the raw rate; S seconds each. Prints detail lines and a Markdown table\n"
                 "per run and, when N > 1, per size the row of the run with the median % of raw.\n"
                 "Targets, for sizes up to 8972 (no fragmentation at a 9000-byte MTU): goodput\n"
                 ">= 90% of the raw datagram rate; 0 frames lost paced at half of it. Larger\n"
                 "sizes are information only.\n";
    return 0;
  }
  Args a;
  try {
    a = parse(argc, argv);
    fh::shared::setup_logging(a.log_level);
    fh::receiver::tune_allocator(fh::receiver::ReassemblerConfig{}.max_frame_bytes);  // as main()
  } catch (const std::exception& e) {
    std::cerr << "bench_receiver: " << e.what() << "\n";
    return 2;
  }
  std::printf(
      "bench_receiver: cores=%u loadavg=\"%s\" rmem_max=%s rcvbuf_request=%zu "
      "seconds=%g runs=%d\n",
      std::thread::hardware_concurrency(), read_first_line("/proc/loadavg").c_str(),
      read_first_line("/proc/sys/net/core/rmem_max").c_str(), a.rcvbuf, a.seconds, a.runs);
  std::vector<Workload> workloads;
  try {
    for (auto s : a.sizes) workloads.emplace_back(s, a.frame_target);
  } catch (const std::exception& e) {
    std::cerr << "bench_receiver: " << e.what() << "\n";
    return 2;
  }
  for (const auto& w : workloads) {
    std::printf("workload size=%zu frame_bytes=%zu chunks_per_frame=%zu\n", w.datagram_size,
                w.frame_bytes, w.chunks_per_frame());
  }

  std::vector<std::vector<Row>> runs;
  try {
    for (int run = 1; run <= a.runs; ++run) {
      std::vector<Row> rows;
      for (const auto& w : workloads) {
        Row row;
        row.size = w.datagram_size;
        row.raw = run_raw(w, a.seconds, a.rcvbuf);
        std::printf(
            "run=%d size=%zu phase=raw dgram_per_s=%.0f mb_per_s=%.1f sent=%llu "
            "received=%llu tx_dgram_per_s=%.0f send_errors=%llu rx_cpu=%.2f rx_us_per_dgram=%.2f "
            "rx_ctx_per_kdgram=%.1f "
            "so_rcvbuf=%zu "
            "socket_drops=%lld RcvbufErrors+=%lld\n",
            run, w.datagram_size, row.raw.dgram_per_s, row.raw.mb_per_s,
            static_cast<unsigned long long>(row.raw.sent),
            static_cast<unsigned long long>(row.raw.received), row.raw.tx_dgram_per_s,
            static_cast<unsigned long long>(row.raw.send_errors), row.raw.rx_cpu,
            row.raw.rx_us_per_dgram, row.raw.rx_ctx_per_kdgram, row.raw.rcvbuf,
            row.raw.socket_drops, row.raw.rcvbuf_errors);
        row.full = run_receiver(w, a.seconds, a.rcvbuf, 0);
        const double half_bps =
            0.5 * row.raw.dgram_per_s * static_cast<double>(w.datagram_size + k_ip_udp_overhead);
        row.paced = run_receiver(w, a.seconds, a.rcvbuf, half_bps);
        for (const auto* p : {&row.full, &row.paced}) {
          std::printf(
              "run=%d size=%zu phase=%s goodput_mb_per_s=%.1f frames_per_s=%.0f "
              "dgram_per_s=%.0f tx_dgram_per_s=%.0f target_dgram_per_s=%.0f send_errors=%llu "
              "rx_cpu=%.2f rx_us_per_dgram=%.2f rx_ctx_per_kdgram=%.1f frames_sent=%llu "
              "complete=%llu incomplete=%llu "
              "queue_dropped=%llu delivered=%llu "
              "bad_size=%llu malformed=%llu sent=%llu received=%llu so_rcvbuf=%zu "
              "socket_drops=%lld RcvbufErrors+=%lld\n",
              run, w.datagram_size, p == &row.full ? "full" : "paced", p->goodput_mb_per_s,
              p->frames_per_s, p->dgram_per_s, p->tx_dgram_per_s, p->target_dgram_per_s,
              static_cast<unsigned long long>(p->send_errors), p->rx_cpu, p->rx_us_per_dgram,
              p->rx_ctx_per_kdgram, static_cast<unsigned long long>(p->frames_sent),
              static_cast<unsigned long long>(p->frames_complete),
              static_cast<unsigned long long>(p->frames_incomplete),
              static_cast<unsigned long long>(p->frames_dropped),
              static_cast<unsigned long long>(p->frames_delivered),
              static_cast<unsigned long long>(p->bad_frames),
              static_cast<unsigned long long>(p->malformed),
              static_cast<unsigned long long>(p->sent),
              static_cast<unsigned long long>(p->received), p->rcvbuf, p->socket_drops,
              p->rcvbuf_errors);
        }
        const double cpf = static_cast<double>(w.chunks_per_frame());
        row.pct_goodput = 100.0 * row.full.frames_per_s * cpf / row.raw.dgram_per_s;
        row.pct_dgram = 100.0 * row.full.dgram_per_s / row.raw.dgram_per_s;
        std::fflush(stdout);
        rows.push_back(row);
      }
      print_table(rows, "run " + std::to_string(run) + ":");
      runs.push_back(rows);
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_receiver: " << e.what() << "\n";
    return 1;
  }

  // Per size, the whole row of the run whose "% of raw" (goodput) is the median: one
  // consistent row rather than medians of columns taken from different runs.
  std::vector<Row> med;
  for (std::size_t i = 0; i < runs.front().size(); ++i) {
    std::vector<std::pair<double, std::size_t>> v;
    for (std::size_t k = 0; k < runs.size(); ++k) v.emplace_back(runs[k][i].pct_goodput, k);
    std::sort(v.begin(), v.end());
    med.push_back(runs[v[(v.size() - 1) / 2].second][i]);
  }
  if (runs.size() > 1) {
    print_table(med, "median of " + std::to_string(runs.size()) +
                         " runs (per size, the row of the run with the median % of raw):");
    std::printf("\n");
    for (std::size_t i = 0; i < med.size(); ++i) {
      std::printf("size=%zu per run: %% of raw (goodput)", med[i].size);
      for (const auto& run : runs) std::printf(" %.1f", run[i].pct_goodput);
      std::printf("; frames lost paced");
      for (const auto& run : runs) {
        std::printf(" %llu/%llu", static_cast<unsigned long long>(run[i].paced.lost()),
                    static_cast<unsigned long long>(run[i].paced.frames_sent));
      }
      std::printf("\n");
    }
  }

  std::printf("\nloadavg at the end: \"%s\" (quote it: other processes share the cores)\n",
              read_first_line("/proc/loadavg").c_str());
  std::printf(
      "targets (sizes <= %zu B): goodput >= %.0f%% of raw; 0 frames lost when paced at 1/2 raw; "
      "larger sizes: information only\n",
      k_jumbo_mtu - k_ip_udp_overhead, k_target_pct);
  for (const auto& r : med) {
    std::uint64_t paced_lost_max = 0;
    for (const auto& run : runs) {
      for (const auto& x : run) {
        if (x.size == r.size) paced_lost_max = std::max(paced_lost_max, x.paced.lost());
      }
    }
    const bool t = targeted(r.size);
    std::printf("size=%zu goodput=%.1f%% of raw: %s; paced loss (worst run)=%llu: %s\n", r.size,
                r.pct_goodput,
                !t                              ? "information"
                : r.pct_goodput >= k_target_pct ? "met"
                                                : "MISSED",
                static_cast<unsigned long long>(paced_lost_max),
                !t                    ? "information"
                : paced_lost_max == 0 ? "met"
                                      : "MISSED");
  }
  return 0;
}
