#pragma once
// The XML-RPC codec lives in the shared library (framehive/shared/xmlrpc_codec.hpp); the
// master's RPC code and its tests use it under fh::master::rpc.

#include "framehive/shared/xmlrpc_codec.hpp"

namespace fh::master::rpc {

using shared::xmlrpc::base64_decode;
using shared::xmlrpc::base64_encode;
using shared::xmlrpc::base64_simd_active;
using shared::xmlrpc::CodecError;
using shared::xmlrpc::enable_base64_simd;
using shared::xmlrpc::kMaxValueDepth;
using shared::xmlrpc::parse_call;
using shared::xmlrpc::parse_response;
using shared::xmlrpc::ParsedResponse;
using shared::xmlrpc::serialize_call;
using shared::xmlrpc::serialize_fault;
using shared::xmlrpc::serialize_response;

}  // namespace fh::master::rpc
