#include "rpc_dispatcher.hpp"

#include "framehive/shared/api/names.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/xmlrpc_codec.hpp"

#include <map>

namespace fh::master::rpc {
namespace {

using shared::xmlrpc::CodecError;
using shared::xmlrpc::LimitError;
using shared::xmlrpc::parse_call;
using shared::xmlrpc::serialize_fault;
using shared::xmlrpc::serialize_response;
using xmlrpc_c::paramList;
using xmlrpc_c::value;

constexpr xmlrpc_c::fault::code_t fault_code(int code) {
  return static_cast<xmlrpc_c::fault::code_t>(code);
}

/// xmlrpc-c's names of signature letters.
const char* type_of_letter(char c) {
  switch (c) {
    case 'i':
      return "int";
    case 'b':
      return "boolean";
    case 'd':
      return "double";
    case 's':
      return "string";
    case '8':
      return "dateTime.iso8601";
    case '6':
      return "base64";
    case 'S':
      return "struct";
    case 'A':
      return "array";
    case 'n':
      return "nil";
    case 'I':
      return "i8";
    default:
      return nullptr;
  }
}

/// "S:s,S:si" -> [["struct","string"],["struct","string","int"]]; "undef" if unknown.
value signature_value(const std::string& sig) {
  if (sig.empty()) return xmlrpc_c::value_string("undef");
  std::vector<value> out;
  std::size_t start = 0;
  while (start <= sig.size()) {
    const auto comma = sig.find(',', start);
    const std::string one =
        sig.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (one.size() < 2 || one[1] != ':') return xmlrpc_c::value_string("undef");
    std::vector<value> types;
    for (std::size_t i = 0; i < one.size(); ++i) {
      if (i == 1) continue;
      const char* t = type_of_letter(one[i]);
      if (!t) return xmlrpc_c::value_string("undef");
      types.push_back(xmlrpc_c::value_string(t));
    }
    out.push_back(xmlrpc_c::value_array(types));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return xmlrpc_c::value_array(out);
}

void count(const paramList& p, unsigned n, const char* usage) {
  if (p.size() != n) {
    throw xmlrpc_c::fault(
        "wrong number of parameters (" + std::to_string(p.size()) + "); usage: " + usage,
        fault_code(shared::api::fault::type));
  }
}

std::string string_param(const paramList& p, unsigned i) {
  if (p[i].type() != value::TYPE_STRING) {
    throw xmlrpc_c::fault(
        "Invalid parameter list.  Parameter " + std::to_string(i) + " is not a string",
        fault_code(shared::api::fault::type));
  }
  return static_cast<std::string>(xmlrpc_c::value_string(p[i]));
}

}  // namespace

RpcDispatcher::RpcDispatcher(std::vector<MethodDef> table, DispatchLimits limits)
    : limits_(limits) {
  const auto no_such = [](const std::string& name) {
    return xmlrpc_c::fault("Method '" + name + "' does not exist",
                           fault_code(shared::api::fault::no_such_method));
  };
  methods_.push_back(MethodDef{shared::api::method::list_methods, "A:",
                               "Return an array of all available XML-RPC methods on this server.",
                               [this](const paramList& p) -> value {
                                 count(p, 0, "system.listMethods()");
                                 std::vector<value> names;
                                 names.reserve(methods_.size());
                                 for (const auto& m : methods_)
                                   names.push_back(xmlrpc_c::value_string(m.name));
                                 return xmlrpc_c::value_array(names);
                               }});
  methods_.push_back(MethodDef{shared::api::method::method_exist, "b:s",
                               "Tell whether a method by a specified name exists on this server",
                               [this](const paramList& p) -> value {
                                 count(p, 1, "system.methodExist(name)");
                                 return xmlrpc_c::value_boolean(find(string_param(p, 0)) !=
                                                                nullptr);
                               }});
  methods_.push_back(MethodDef{shared::api::method::method_help, "s:s",
                               "Given the name of a method, return a help string.",
                               [this, no_such](const paramList& p) -> value {
                                 count(p, 1, "system.methodHelp(name)");
                                 const auto name = string_param(p, 0);
                                 const MethodDef* m = find(name);
                                 if (!m) throw no_such(name);
                                 return xmlrpc_c::value_string(m->help);
                               }});
  methods_.push_back(MethodDef{
      shared::api::method::method_signature, "A:s",
      "Given the name of a method, return an array of legal signatures. Each signature is an "
      "array of strings.  The first item of each signature is the return type, and any others "
      "items are parameter types.",
      [this, no_such](const paramList& p) -> value {
        count(p, 1, "system.methodSignature(name)");
        const auto name = string_param(p, 0);
        const MethodDef* m = find(name);
        if (!m) throw no_such(name);
        return signature_value(m->signature);
      }});
  methods_.push_back(MethodDef{
      shared::api::method::multicall, "A:A",
      "Process an array of calls, and return an array of results.  Calls should be structs of "
      "the form {'methodName': string, 'params': array}. Each result will either be a "
      "single-item array containing the result value, or a struct of the form {'faultCode': "
      "int, 'faultString': string}.  This is useful when you need to make lots of small calls "
      "without lots of round trips.",
      [this](const paramList& p) -> value { return multicall(p); }});
  for (auto& m : table) methods_.push_back(std::move(m));
  for (std::size_t i = 0; i < methods_.size(); ++i) index_.emplace(methods_[i].name, i);
}

const MethodDef* RpcDispatcher::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &methods_[it->second];
}

value RpcDispatcher::call(const std::string& method, const paramList& params) const {
  const MethodDef* m = find(method);
  if (!m) {
    throw xmlrpc_c::fault("Method '" + method + "' not defined",
                          fault_code(shared::api::fault::no_such_method));
  }
  return invoke(*m, params);
}

value RpcDispatcher::multicall(const paramList& p) const {
  count(p, 1, "system.multicall(array of {methodName, params})");
  if (p[0].type() != value::TYPE_ARRAY) {
    throw xmlrpc_c::fault(
        "system.multicall's parameter should be an array, each element "
        "describing one RPC",
        fault_code(shared::api::fault::type));
  }
  const xmlrpc_c::value_array array(p[0]);
  if (array.size() > limits_.max_multicall) {
    throw xmlrpc_c::fault("system.multicall: " + std::to_string(array.size()) +
                              " calls, over the limit of " + std::to_string(limits_.max_multicall) +
                              " (max_multicall)",
                          fault_code(shared::api::fault::limit_exceeded));
  }
  const auto calls = array.vectorValueValue();
  // Check every element first, so a malformed or recursive call runs nothing.
  std::vector<std::pair<std::string, paramList>> todo;
  todo.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string where = "system.multicall element " + std::to_string(i);
    if (calls[i].type() != value::TYPE_STRUCT) {
      throw xmlrpc_c::fault(where +
                                " should be a struct (with members 'methodName' and "
                                "'params')",
                            fault_code(shared::api::fault::type));
    }
    const auto s = static_cast<xmlrpc_c::cstruct>(xmlrpc_c::value_struct(calls[i]));
    const auto name = s.find(shared::api::field::method_name);
    const auto params = s.find(shared::api::field::params);
    if (name == s.end() || params == s.end()) {
      throw xmlrpc_c::fault(
          where + ": no member '" + std::string(name == s.end() ? "methodName" : "params") + "'",
          fault_code(shared::api::fault::index));
    }
    if (name->second.type() != value::TYPE_STRING || params->second.type() != value::TYPE_ARRAY) {
      throw xmlrpc_c::fault(where + ": methodName must be a string and params an array",
                            fault_code(shared::api::fault::type));
    }
    std::string method = static_cast<std::string>(xmlrpc_c::value_string(name->second));
    if (method == shared::api::method::multicall) {
      throw xmlrpc_c::fault("Recursive system.multicall forbidden",
                            fault_code(shared::api::fault::refused));
    }
    paramList list;
    for (const auto& v : xmlrpc_c::value_array(params->second).vectorValueValue()) list.add(v);
    todo.emplace_back(std::move(method), std::move(list));
  }
  std::vector<value> results;
  results.reserve(todo.size());
  for (const auto& [method, list] : todo) {
    try {
      results.push_back(xmlrpc_c::value_array(std::vector<value>{call(method, list)}));
    } catch (const xmlrpc_c::fault& f) {
      results.push_back(xmlrpc_c::value_struct(std::map<std::string, value>{
          {shared::api::field::fault_code, xmlrpc_c::value_int(f.getCode())},
          {shared::api::field::fault_string, xmlrpc_c::value_string(f.getDescription())}}));
    }
  }
  return xmlrpc_c::value_array(results);
}

std::string RpcDispatcher::handle(std::string_view request_xml, const std::string& peer) const {
  const PeerScope scope(peer);
  std::string method;
  paramList params;
  try {
    parse_call(request_xml, method, params, limits_.parse);
  } catch (const LimitError& e) {
    return serialize_fault(fault_code(shared::api::fault::limit_exceeded),
                           std::string("Call XML over a limit of this server.  ") + e.what());
  } catch (const CodecError& e) {
    return serialize_fault(fault_code(shared::api::fault::parse),
                           std::string("Call XML not a proper XML-RPC call.  ") + e.what());
  }
  try {
    const value result = call(method, params);
    try {
      return serialize_response(result);
    } catch (const CodecError& e) {
      shared::logger("rpc")->error("{}: cannot send the result: {}", method, e.what());
      return serialize_fault(fault_code(shared::api::fault::internal),
                             std::string("internal error: cannot send the result: ") + e.what());
    }
  } catch (const xmlrpc_c::fault& f) {
    return serialize_fault(f.getCode(), f.getDescription());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    shared::logger("rpc")->error("{}: {}", method, e.what());
    return serialize_fault(fault_code(shared::api::fault::internal),
                           std::string("internal error: ") + e.what());
  } catch (...) {
    shared::logger("rpc")->error("{}: unknown exception", method);
    return serialize_fault(fault_code(shared::api::fault::internal), "internal error");
  }
}

}  // namespace fh::master::rpc
