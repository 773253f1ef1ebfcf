#include "abyss_server.hpp"

#include <unistd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server_abyss.h>
#include <xmlrpc-c/server_abyss.hpp>
#include <xmlrpc-c/xml.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

// Frees Abyss's error strings (exported by libxmlrpc_util, not declared in its public headers).
extern "C" void xmlrpc_strfree(const char* string);

namespace fh::master {
namespace {

/// One XML-RPC method of the shared table, as xmlrpc-c wants it.
class TableMethod : public xmlrpc_c::method2 {
 public:
  explicit TableMethod(rpc::MethodDef def) : def_(std::move(def)) {
    _signature = def_.signature;
    _help = def_.help;
  }
  void execute(const xmlrpc_c::paramList& params, const xmlrpc_c::callInfo*,
               xmlrpc_c::value* result) override {
    *result = rpc::invoke(def_, params);
  }

 private:
  rpc::MethodDef def_;  ///< name, help and body
};

/// Why xmlrpc-c must not see a call, or nullptr. Checked in one pass without parsing, because
/// xmlrpc-c's own parser (its bundled expat, without entity-expansion limits) is the danger:
/// - a DTD: entities defined in it are expanded without limit; a 1 KB "billion laughs" call
///   kept a connection thread at 100 % CPU for minutes. XML-RPC has no use for declarations
///   (the native back end refuses them too);
/// - deep nesting: xmlrpc-c builds and frees its element tree recursively on Abyss's small
///   connection-thread stack; a 40 KB call nesting 1,000 arrays (3,000 elements) overflowed it
///   and killed the master (SIGSEGV) before xmlrpc-c's nesting limit (64 values) applied.
///   Refused beyond k_max_element_depth elements: xmlrpc-c accepts about 200, ~2,700 crash.
constexpr std::size_t k_max_element_depth = 512;
const char* refuse_before_parsing(const char* xml, std::size_t size) {
  std::size_t depth = 0;
  const char* end = xml + size;
  auto skip_past = [&](const char* from, const char* token) {
    const char* at = std::search(from, end, token, token + std::strlen(token));
    return at == end ? end : at + std::strlen(token);
  };
  for (const char* p = xml; p < end; ++p) {
    if (*p != '<' || p + 1 >= end) continue;
    const char next = p[1];
    if (next == '/') {
      if (depth > 0) --depth;
    } else if (next == '!') {
      if (end - p >= 9 && std::memcmp(p, "<![CDATA[", 9) == 0) {
        p = skip_past(p, "]]>") - 1;
      } else if (end - p >= 4 && std::memcmp(p, "<!--", 4) == 0) {
        p = skip_past(p, "-->") - 1;
      } else {
        return "DOCTYPE and other declarations are not allowed";
      }
    } else if (next != '?') {
      const char* close = std::find(p, end, '>');
      if ((close == end || close[-1] != '/') && ++depth > k_max_element_depth) {
        return "Nested data structure too deep.";
      }
      p = close == end ? end - 1 : close;
    }
  }
  return nullptr;
}

/// Throws std::runtime_error for an Abyss error string (and frees it).
void throw_if(const char* error, const char* what) {
  if (!error) return;
  std::string message = std::string("xmlrpc-c back end: ") + what + ": " + error;
  xmlrpc_strfree(error);
  throw std::runtime_error(message);
}

}  // namespace

AbyssServer::AbyssServer(std::vector<rpc::MethodDef> methods, const RpcServerConfig& config,
                         int listen_fd)
    : auth_(config.auth_secret), fd_(listen_fd) {
  xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, config.max_request_bytes);
  for (auto& m : methods) {
    const std::string name = m.name;
    registry_.addMethod(name, xmlrpc_c::methodPtr(new TableMethod(std::move(m))));
  }
  try {
    const char* error = nullptr;
    AbyssInit(&error);
    throw_if(error, "AbyssInit");
    abyss_initialised_ = true;
    ChanSwitchUnixCreateFd(fd_, &chan_switch_, &error);
    throw_if(error, "listening socket");
    ServerCreateSwitch(&server_, chan_switch_, &error);
    throw_if(error, "ServerCreateSwitch");
    server_created_ = true;
    ServerSetMaxConn(&server_, config.max_conn);
    ServerSetMaxConnBacklog(&server_, 128);
    ServerSetKeepaliveTimeout(&server_, config.keepalive_timeout_s);
    ServerSetKeepaliveMaxConn(&server_, 100000);
    ServerSetTimeout(&server_, config.request_timeout_s);
    ServerSetAdvertise(&server_, false);
    // The XML-RPC handler with our own call processor (it runs the C++ registry).
    xmlrpc_server_abyss_handler_parms parms{};
    parms.xml_processor = &AbyssServer::process_call;
    parms.xml_processor_arg = this;
    parms.xml_processor_max_stack = registry_.maxStackSize();
    parms.uri_path = "/RPC2";
    parms.chunk_response = false;
    parms.allow_origin = nullptr;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_server_abyss_set_handler3(&env, &server_, &parms, XMLRPC_AHPSIZE(access_ctl_max_age));
    if (env.fault_occurred) {
      const std::string message = env.fault_string ? env.fault_string : "unknown error";
      xmlrpc_env_clean(&env);
      throw std::runtime_error("xmlrpc-c back end: XML-RPC handler: " + message);
    }
    xmlrpc_env_clean(&env);
    if (auth_.required()) {
      // Abyss offers a request to its handlers last-added first: this one runs before the
      // XML-RPC handler (and before it reads the body). tests/master checks the 401.
      ServerReqHandler3 handler{};
      handler.handleReq = &AbyssServer::check_credentials;
      handler.userdata = this;
      abyss_bool ok = false;
      ServerAddHandler3(&server_, &handler, &ok);
      if (!ok) throw std::runtime_error("xmlrpc-c back end: cannot add the credentials check");
    }
    ServerInit2(&server_, &error);
    throw_if(error, "ServerInit2");
  } catch (...) {
    release();
    throw;
  }
}

AbyssServer::~AbyssServer() {
  release();
  ::close(fd_);
}

void AbyssServer::release() {
  if (server_created_) ServerFree(&server_);
  server_created_ = false;
  if (chan_switch_) ChanSwitchDestroy(chan_switch_);
  chan_switch_ = nullptr;
  if (abyss_initialised_) AbyssTerm();
  abyss_initialised_ = false;
}

void AbyssServer::run() { ServerRun(&server_); }

void AbyssServer::stop() { ServerTerminate(&server_); }

void AbyssServer::process_call(xmlrpc_env* env, void* self, const char* xml, std::size_t size,
                               TSession* session, xmlrpc_mem_block** response) {
  auto* me = static_cast<AbyssServer*>(self);
  try {
    const xmlrpc_c::callInfo_abyss info(session);
    std::string out;
    if (const char* why = refuse_before_parsing(xml, size)) {
      // a parse fault (-503), as xmlrpc-c gives for calls it cannot take
      xmlrpc_c::xml::generateResponse(
          xmlrpc_c::rpcOutcome(
              xmlrpc_c::fault(std::string("Call XML not a proper XML-RPC call.  ") + why,
                              xmlrpc_c::fault::CODE_PARSE)),
          &out);
    } else {
      me->registry_.processCall(std::string(xml, size), &info, &out);
    }
    xmlrpc_mem_block* block = xmlrpc_mem_block_new(env, out.size());
    if (env->fault_occurred) return;
    std::memcpy(xmlrpc_mem_block_contents(block), out.data(), out.size());
    *response = block;
  } catch (const std::exception& e) {
    xmlrpc_env_set_fault(env, XMLRPC_INTERNAL_ERROR, e.what());
  } catch (...) {
    xmlrpc_env_set_fault(env, XMLRPC_INTERNAL_ERROR, "internal error");
  }
}

void AbyssServer::check_credentials(void* self, TSession* session, abyss_bool* handled) {
  auto* me = static_cast<AbyssServer*>(self);
  *handled = false;
  try {
    const char* value = RequestHeaderValue(session, "authorization");
    if (me->auth_.check(value ? value : "")) return;
    void* info = nullptr;
    SessionGetChannelInfo(session, &info);
    const auto* chan = static_cast<const abyss_unix_chaninfo*>(info);
    me->auth_.note_refused(chan ? HttpAuth::peer_name(&chan->peerAddr) : "?", value != nullptr);
  } catch (...) {
    // refuse below: an exception must not cross into Abyss's C code
  }
  ResponseStatus(session, 401);
  ResponseAddField(session, "WWW-Authenticate", HttpAuth::k_challenge);
  ResponseError2(session,
                 "unauthorized: this master requires HTTP Basic credentials (user framehive, "
                 "password the shared secret; see docs/api.md)");
  *handled = true;
}

}  // namespace fh::master
