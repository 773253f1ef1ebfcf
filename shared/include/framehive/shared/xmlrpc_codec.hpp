#pragma once
// A strict, fast XML-RPC codec: methodCall and methodResponse documents both ways, values as
// xmlrpc-c values. The master's native server back end parses calls and writes responses with
// it; RpcClient (workers, receivers, framehive-ctl) writes calls and parses responses.
// Pure functions, thread-safe. Malformed input throws CodecError, never crashes.

#include <xmlrpc-c/base.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fh::shared::xmlrpc {

/// Malformed XML-RPC (the message says where and what), or a value XML-RPC cannot carry.
class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Deepest nesting of arrays and structs accepted by the parser.
inline constexpr int kMaxValueDepth = 64;

/// Parses a <methodCall>; params is appended to (pass an empty list).
void parse_call(std::string_view xml, std::string& method, xmlrpc_c::paramList& params);

/// A parsed <methodResponse>: a value or a fault.
struct ParsedResponse {
  bool is_fault = false;
  xmlrpc_c::value value;     ///< the result when !is_fault
  int fault_code = 0;        ///< faultCode when is_fault
  std::string fault_string;  ///< faultString when is_fault
};
/// Parses a <methodResponse>.
ParsedResponse parse_response(std::string_view xml);

/// A <methodResponse> carrying v. Throws CodecError for values XML-RPC cannot carry
/// (non-finite doubles, C pointers).
std::string serialize_response(const xmlrpc_c::value& v);
/// A <methodResponse> carrying the fault {faultCode, faultString}; never throws CodecError
/// (characters XML or xmlrpc-c cannot carry in msg become '?').
std::string serialize_fault(int code, const std::string& msg);
/// A <methodCall>.
std::string serialize_call(const std::string& method, const xmlrpc_c::paramList& params);

/// Decodes base64 text, skipping ASCII whitespace; validates characters and padding.
/// Appends to out. Throws CodecError.
void base64_decode(std::string_view text, std::vector<unsigned char>& out);
/// Appends the base64 encoding of data (no line breaks, padded) to out.
void base64_encode(const unsigned char* data, std::size_t size, std::string& out);

/// base64 uses AVX2 kernels when the CPU has them (the default); off: the scalar code only.
/// For tests and benchmarks; takes effect for calls that start afterwards.
void enable_base64_simd(bool on);
/// Whether base64 calls use the AVX2 kernels now.
bool base64_simd_active();

}  // namespace fh::shared::xmlrpc
