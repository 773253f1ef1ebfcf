#pragma once
// Integrity tags of framehive datagrams (docs/protocol.md, "Integrity tag"): HMAC-SHA256 with a
// shared key, truncated to 16 bytes. The key schedule is computed once; each tag reuses it.
// Not thread-safe: one instance per thread (build another from the same key for another thread).

#include <cstddef>
#include <cstdint>
#include <string>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX, kept out of this header

namespace fh::shared {

class DatagramTagger {
 public:
  /// Tag length in bytes (HMAC-SHA256 truncated, as in RFC 4868's 128-bit truncation).
  static constexpr std::size_t k_tag_bytes = 16;

  /// key: the shared secret's bytes. Throws std::invalid_argument when empty,
  /// std::runtime_error when OpenSSL cannot set up HMAC-SHA256.
  explicit DatagramTagger(const std::string& key);
  ~DatagramTagger();
  DatagramTagger(const DatagramTagger&) = delete;
  DatagramTagger& operator=(const DatagramTagger&) = delete;

  /// Writes the k_tag_bytes tag of data[0, size) to tag. False only when OpenSSL failed
  /// (tag then holds zeros).
  bool compute(const std::uint8_t* data, std::size_t size, std::uint8_t* tag);

  /// True when data[0, size) ends with the tag of everything before it. Compares in constant
  /// time; false for size < k_tag_bytes. Never throws.
  bool verify(const std::uint8_t* data, std::size_t size);

  /// compute and verify of a version-2 datagram: the tag covers the destination port (2 bytes,
  /// big-endian) followed by data[0, size), so a datagram tagged for one port fails on another.
  bool compute(std::uint16_t port, const std::uint8_t* data, std::size_t size, std::uint8_t* tag);
  bool verify(std::uint16_t port, const std::uint8_t* data, std::size_t size);

  /// One byte naming the key in version-2 headers (byte 7): the first byte of
  /// HMAC-SHA256(key, "framehive key id"). Lets a receiver holding two keys (rotation) try the
  /// right one first; two keys may share an id (then both are tried).
  std::uint8_t key_id() const { return key_id_; }

 private:
  /// The HMAC of prefix then data, truncated; false when OpenSSL failed (tag zeroed).
  bool mac(const std::uint8_t* prefix, std::size_t prefix_size, const std::uint8_t* data,
           std::size_t size, std::uint8_t* tag);

  evp_mac_ctx_st* ctx_ = nullptr;  ///< HMAC-SHA256 keyed once; re-initialised per tag
  std::uint8_t key_id_ = 0;        ///< see key_id()
};

}  // namespace fh::shared
