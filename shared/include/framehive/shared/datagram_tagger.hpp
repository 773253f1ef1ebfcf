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

 private:
  evp_mac_ctx_st* ctx_ = nullptr;  ///< HMAC-SHA256 keyed once; re-initialised per tag
};

}  // namespace fh::shared
