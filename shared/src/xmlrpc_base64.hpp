#pragma once
// base64 into caller-provided buffers, for the XML-RPC parser and writer (xmlrpc_base64.cpp).
// The public entry points (base64_decode, base64_encode) are in xmlrpc_codec.hpp.
// Pure functions, thread-safe.

#include <cstddef>

namespace fh::shared::xmlrpc::detail {

/// Upper bound of the decoded size of n characters of base64 text. (The AVX2 kernel stores 24
/// bytes at a time, but never past 3/4 of the characters it has consumed plus 32.)
constexpr std::size_t b64_decoded_bound(std::size_t n) { return n / 4 * 3 + 3; }

/// Size of the padded encoding of n bytes.
constexpr std::size_t b64_encoded_size(std::size_t n) { return (n + 2) / 3 * 4; }

/// Decodes n characters (ASCII whitespace skipped) into out, which has room for
/// b64_decoded_bound(n) bytes; returns the decoded size. Throws CodecError.
std::size_t b64_decode_into(const unsigned char* in, std::size_t n, unsigned char* out);

/// Encodes n bytes into out, which has room for b64_encoded_size(n) characters.
void b64_encode_into(const unsigned char* d, std::size_t n, char* out);

}  // namespace fh::shared::xmlrpc::detail
