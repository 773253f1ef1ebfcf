#pragma once
// A strict, fast XML-RPC codec: methodCall and methodResponse documents both ways, values as
// xmlrpc-c values. The master's native server back end parses calls and writes responses with
// it; RpcClient (workers, receivers, framehive-ctl) writes calls and parses responses.
// Pure functions, thread-safe. Malformed input throws CodecError, never crashes; a document
// over one of the parser's ParseLimits throws LimitError.

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

/// A well-formed document over one of the parser's ParseLimits; the message names the limit
/// (e.g. "(max_struct_members)") and says where the document crossed it.
class LimitError : public CodecError {
 public:
  using CodecError::CodecError;
};

/// Deepest nesting of arrays and structs accepted by the parser by default (xmlrpc-c's
/// XMLRPC_NESTING_LIMIT is the same).
inline constexpr int kMaxValueDepth = 64;

/// Bounds on the work one document makes the parser do, whatever its size in bytes. Each value
/// becomes an xmlrpc-c object of about 200-250 bytes, and xmlrpc-c inserts a struct member by
/// scanning the members before it (quadratic in the members of one struct): max_values bounds
/// the memory, max_values x max_struct_members / 4 the key comparisons of a whole document.
/// Counts are checked as the document is read, so a refusal costs no more than the limit.
struct ParseLimits {
  std::size_t max_values;          ///< <value>s in the document, struct member names included
  std::size_t max_struct_members;  ///< <member>s of one struct (a repeated name counts again)
  std::size_t max_array_items;     ///< <value>s in the <data> of one array
  int max_depth;                   ///< nesting of arrays and structs (a <param>'s value: 1)
};

/// parse_call's default: what a master accepts. The largest legitimate calls are
/// complete_task with 10,000 detections (about 130,000 values), add_tasks with 1,000 frames
/// and a system.multicall of 1,000 calls; their structs have at most a dozen members.
inline constexpr ParseLimits kCallLimits{250'000, 1'000, 100'000, kMaxValueDepth};
/// parse_response's default: what a client accepts, with room for the largest replies
/// (get_summary: up to 100,000 buckets with a struct of labels each; get_results and
/// export_results: up to 10,000 records with their detections; some 30 bytes of XML a value in
/// a 256 MiB reply). At most about 2 GiB of values.
inline constexpr ParseLimits kResponseLimits{8'000'000, 1'024, 1'000'000, kMaxValueDepth};

/// Parses a <methodCall>; params is appended to (pass an empty list).
void parse_call(std::string_view xml, std::string& method, xmlrpc_c::paramList& params,
                const ParseLimits& limits = kCallLimits);

/// A parsed <methodResponse>: a value or a fault.
struct ParsedResponse {
  bool is_fault = false;
  xmlrpc_c::value value;     ///< the result when !is_fault
  int fault_code = 0;        ///< faultCode when is_fault
  std::string fault_string;  ///< faultString when is_fault
};
/// Parses a <methodResponse>.
ParsedResponse parse_response(std::string_view xml, const ParseLimits& limits = kResponseLimits);

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
