#pragma once
// RAII for xmlrpc-c's C API, shared by the XML-RPC parser and writer: the C++ wrappers copy
// whole maps and vectors; the C API does not. Not thread-safe (one per call).

#include "framehive/shared/xmlrpc_codec.hpp"

#include <xmlrpc-c/base.h>

#include <cstdlib>
#include <string>
#include <utility>

namespace fh::shared::xmlrpc::detail {

/// Owns one reference to a C value.
class CRef {
 public:
  CRef() = default;
  explicit CRef(xmlrpc_value* v) : v_(v) {}
  CRef(CRef&& o) noexcept : v_(std::exchange(o.v_, nullptr)) {}
  CRef& operator=(CRef&& o) noexcept {
    if (this != &o) {
      if (v_) xmlrpc_DECREF(v_);
      v_ = std::exchange(o.v_, nullptr);
    }
    return *this;
  }
  CRef(const CRef&) = delete;
  CRef& operator=(const CRef&) = delete;
  ~CRef() {
    if (v_) xmlrpc_DECREF(v_);
  }
  xmlrpc_value* get() const { return v_; }
  /// A C++ handle sharing the value (takes its own reference).
  xmlrpc_c::value cpp() const { return xmlrpc_c::value(v_); }

 private:
  xmlrpc_value* v_ = nullptr;  ///< owned reference, or null
};

/// An xmlrpc_env that cleans up after itself.
struct Env {
  xmlrpc_env env;
  Env() { xmlrpc_env_init(&env); }
  ~Env() { xmlrpc_env_clean(&env); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  /// The fault message of the last call, and resets; empty when it succeeded.
  std::string take_fault() {
    if (!env.fault_occurred) return {};
    std::string msg = env.fault_string ? env.fault_string : "failed";
    xmlrpc_env_clean(&env);
    xmlrpc_env_init(&env);
    return msg;
  }
  /// Throws CodecError (and resets) when the last call failed.
  void check(const char* what) {
    if (!env.fault_occurred) return;
    throw CodecError(std::string(what) + ": " + take_fault());
  }
};

/// For memory xmlrpc-c hands over with malloc().
struct FreeDeleter {
  void operator()(const void* p) const { std::free(const_cast<void*>(p)); }
};

}  // namespace fh::shared::xmlrpc::detail
