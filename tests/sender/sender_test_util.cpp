// Implementation of sender_test_util.hpp.
#include "sender_test_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "framehive/sender/jpeg_encoder.hpp"
#include "framehive/sender/test_pattern_source.hpp"

namespace fh::sender_test {

UdpCollector::UdpCollector() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  int size = 16 << 20;
  // SO_RCVBUFFORCE passes net.core.rmem_max when running as root; otherwise take what we get.
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

UdpCollector::~UdpCollector() {
  stop_.store(true);
  thread_.join();
  ::close(fd_);
}

void UdpCollector::loop() {
  std::vector<std::uint8_t> buf(70000);
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    while (true) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) break;
      std::lock_guard<std::mutex> lock(mutex_);
      got_.emplace_back(buf.begin(), buf.begin() + n);
    }
  }
}

std::size_t UdpCollector::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return got_.size();
}

std::vector<std::vector<std::uint8_t>> UdpCollector::datagrams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return got_;
}

MjpegHttpServer::MjpegHttpServer(int width, int height, double fps)
    : width_(width), height_(height), fps_(fps) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 4) != 0) {
    throw std::runtime_error("cannot listen");
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

MjpegHttpServer::~MjpegHttpServer() {
  stop_.store(true);
  thread_.join();
  ::close(listen_fd_);
}

std::string MjpegHttpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/video.mjpg";
}

void MjpegHttpServer::loop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    connections_.fetch_add(1);
    drop_.store(false);
    serve(client);
    ::close(client);
  }
}

void MjpegHttpServer::serve(int client) {
  // Read the request head (the content does not matter).
  std::string request;
  char buf[1024];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (stop_.load() || std::chrono::steady_clock::now() > deadline) return;
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<std::size_t>(n));
  }
  const auto send_all = [client](const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(client, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  if (!send_all("HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n"
                "Cache-Control: no-cache\r\n\r\n")) {
    return;
  }
  fh::sender::TestPatternSource pattern(width_, height_, fps_);
  const fh::sender::JpegEncoder encoder;
  fh::sender::CapturedFrame frame;
  auto next = std::chrono::steady_clock::now();
  while (!stop_.load() && !drop_.load()) {
    pattern.next(frame);
    const auto jpeg = encoder.encode(frame.image);
    std::string part =
        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) +
        "\r\n\r\n";
    part.append(jpeg.begin(), jpeg.end());
    part += "\r\n";
    if (!send_all(part)) return;
    next += std::chrono::microseconds(static_cast<long long>(1e6 / fps_));
    std::this_thread::sleep_until(next);
  }
}

std::vector<std::uint8_t> FrameParts::bytes() const {
  std::vector<std::uint8_t> out;
  for (const auto& [index, payload] : chunks) out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Reassembly reassemble(const std::vector<std::vector<std::uint8_t>>& datagrams) {
  Reassembly r;
  for (const auto& d : datagrams) {
    fh::shared::DecodedDatagram dd;
    if (fh::shared::decode_datagram(d.data(), d.size(), dd) != fh::shared::DecodeError::none) {
      ++r.bad;
      continue;
    }
    auto& f = r.frames[{dd.header.session, dd.header.frame_seq}];
    f.chunk_count = dd.header.chunk_count;
    f.frame_len = dd.header.frame_len;
    f.capture_us = dd.header.capture_us;
    f.stream = dd.header.stream;
    auto [it, fresh] = f.chunks.emplace(
        dd.header.chunk_index, std::vector<std::uint8_t>(dd.payload, dd.payload + dd.payload_size));
    if (!fresh) ++r.duplicates;
  }
  return r;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace fh::sender_test
