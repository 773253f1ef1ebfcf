#pragma once
// Helpers for the sender tests: a UDP socket on 127.0.0.1 that collects datagrams on its own
// thread, reassembly of framehive frames, parsing of the "sender-stats" line, small files.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "framehive/shared/protocol.hpp"

namespace fh::sender_test {

/// Binds 127.0.0.1:0 with a large receive buffer and collects every datagram until destroyed.
class UdpCollector {
 public:
  UdpCollector();
  ~UdpCollector();
  UdpCollector(const UdpCollector&) = delete;
  UdpCollector& operator=(const UdpCollector&) = delete;
  int port() const { return port_; }
  std::size_t count() const;
  std::vector<std::vector<std::uint8_t>> datagrams() const;

 private:
  void loop();
  int fd_ = -1;                                 ///< the socket
  int port_ = 0;                                ///< bound port
  std::atomic<bool> stop_{false};               ///< ends loop()
  mutable std::mutex mutex_;                    ///< guards got_
  std::vector<std::vector<std::uint8_t>> got_;  ///< received datagrams
  std::thread thread_;                          ///< runs loop()
};

/// A tiny IP-camera stand-in: serves the test pattern as an MJPEG stream
/// (multipart/x-mixed-replace over HTTP) at a fixed rate, one client at a time, on 127.0.0.1.
class MjpegHttpServer {
 public:
  MjpegHttpServer(int width, int height, double fps);
  ~MjpegHttpServer();
  MjpegHttpServer(const MjpegHttpServer&) = delete;
  MjpegHttpServer& operator=(const MjpegHttpServer&) = delete;
  std::string url() const;
  /// Closes the current client connection, as a camera that drops its stream.
  void drop_client() { drop_.store(true); }
  /// Clients accepted so far.
  int connections() const { return connections_.load(); }

 private:
  void loop();
  void serve(int client);
  int listen_fd_ = -1;               ///< listening socket
  int port_ = 0;                     ///< bound port
  int width_, height_;               ///< picture size
  double fps_;                       ///< frames per second sent
  std::atomic<bool> stop_{false};    ///< ends loop()
  std::atomic<bool> drop_{false};    ///< closes the current client
  std::atomic<int> connections_{0};  ///< clients accepted
  std::thread thread_;               ///< runs loop()
};

/// One frame put together from its chunks.
struct FrameParts {
  std::uint16_t chunk_count = 0;
  std::uint32_t frame_len = 0;
  std::uint64_t capture_us = 0;
  std::string stream;
  std::map<std::uint16_t, std::vector<std::uint8_t>> chunks;  ///< by index
  bool complete() const { return chunks.size() == chunk_count; }
  std::vector<std::uint8_t> bytes() const;
};

/// Frames keyed by (session, frame_seq), plus the count of datagrams that failed to decode.
struct Reassembly {
  std::map<std::pair<std::uint64_t, std::uint32_t>, FrameParts> frames;
  std::size_t bad = 0;
  std::size_t duplicates = 0;
};
Reassembly reassemble(const std::vector<std::vector<std::uint8_t>>& datagrams);

/// Writes bytes to a file.
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace fh::sender_test
