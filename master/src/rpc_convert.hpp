#pragma once
// Conversion between XML-RPC values and the master's value types, with clear messages for
// wrong types and missing fields (thrown as xmlrpc_c::fault, CODE_TYPE). Pure functions,
// thread-safe. Kept private: xmlrpc-c types stay out of public headers.

#include "framehive/master/scheduler.hpp"
#include "framehive/master/types.hpp"

#include <xmlrpc-c/base.hpp>

#include <cstddef>

namespace fh::master::rpc {

/// Frame from an XML-RPC struct; `where` names it in messages ("frame", "frames[3]").
/// Rejects images over max_image_bytes and images that are not JPEG.
Frame to_frame(const xmlrpc_c::value& v, const std::string& where, std::size_t max_image_bytes);
Result to_result(const xmlrpc_c::value& v);
std::vector<std::string> to_string_list(const xmlrpc_c::value& v, const std::string& where);

/// Integer from int or i8 (and integral doubles are refused).
std::int64_t as_int(const xmlrpc_c::value& v, const std::string& where);
std::string as_string(const xmlrpc_c::value& v, const std::string& where);
/// Number from double, int or i8; refuses NaN and infinities.
double as_double(const xmlrpc_c::value& v, const std::string& where);

xmlrpc_c::value from_task(const Task& t);
xmlrpc_c::value from_record(const ResultRecord& r);
xmlrpc_c::value from_failure(const FailureRecord& f);
xmlrpc_c::value from_status(const SchedulerStatus& s);

/// Throws the fault that says a parameter is wrong.
[[noreturn]] void type_fault(const std::string& msg);

}  // namespace fh::master::rpc
