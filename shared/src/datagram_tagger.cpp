#include "framehive/shared/datagram_tagger.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <stdexcept>

namespace fh::shared {
namespace {

std::string openssl_error(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + (e != 0 ? std::string(": ") + buf : std::string());
}

}  // namespace

DatagramTagger::DatagramTagger(const std::string& key) {
  if (key.empty()) throw std::invalid_argument("datagram key must not be empty");
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (!mac) throw std::runtime_error(openssl_error("HMAC is not available in OpenSSL"));
  ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (!ctx_) throw std::runtime_error(openssl_error("EVP_MAC_CTX_new"));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
      1) {
    EVP_MAC_CTX_free(ctx_);
    throw std::runtime_error(openssl_error("HMAC-SHA256 key set-up"));
  }
  static constexpr char k_id_label[] = "framehive key id";
  std::uint8_t id[k_tag_bytes];
  if (!compute(reinterpret_cast<const std::uint8_t*>(k_id_label), sizeof k_id_label - 1, id)) {
    EVP_MAC_CTX_free(ctx_);
    throw std::runtime_error("HMAC-SHA256 of the key id failed (OpenSSL)");
  }
  key_id_ = id[0];
}

DatagramTagger::~DatagramTagger() { EVP_MAC_CTX_free(ctx_); }

bool DatagramTagger::compute(const std::uint8_t* data, std::size_t size, std::uint8_t* tag) {
  return mac(nullptr, 0, data, size, tag);
}

bool DatagramTagger::compute(std::uint16_t port, const std::uint8_t* data, std::size_t size,
                             std::uint8_t* tag) {
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(port >> 8),
                                  static_cast<std::uint8_t>(port)};
  return mac(prefix, sizeof prefix, data, size, tag);
}

bool DatagramTagger::verify(std::uint16_t port, const std::uint8_t* data, std::size_t size) {
  if (size < k_tag_bytes) return false;
  std::uint8_t expected[k_tag_bytes];
  if (!compute(port, data, size - k_tag_bytes, expected)) return false;
  return CRYPTO_memcmp(expected, data + size - k_tag_bytes, k_tag_bytes) == 0;
}

bool DatagramTagger::mac(const std::uint8_t* prefix, std::size_t prefix_size,
                         const std::uint8_t* data, std::size_t size, std::uint8_t* tag) {
  unsigned char full[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  // A null key re-initialises from the stored key schedule (the ipad/opad digests are kept).
  const bool ok = EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1 &&
                  (prefix_size == 0 || EVP_MAC_update(ctx_, prefix, prefix_size) == 1) &&
                  EVP_MAC_update(ctx_, data, size) == 1 &&
                  EVP_MAC_final(ctx_, full, &len, sizeof full) == 1 && len >= k_tag_bytes;
  if (!ok) {
    ERR_clear_error();
    std::memset(tag, 0, k_tag_bytes);
    return false;
  }
  std::memcpy(tag, full, k_tag_bytes);
  return true;
}

bool DatagramTagger::verify(const std::uint8_t* data, std::size_t size) {
  if (size < k_tag_bytes) return false;
  std::uint8_t expected[k_tag_bytes];
  if (!compute(data, size - k_tag_bytes, expected)) return false;
  return CRYPTO_memcmp(expected, data + size - k_tag_bytes, k_tag_bytes) == 0;
}

}  // namespace fh::shared
