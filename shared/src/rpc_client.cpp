#include "framehive/shared/rpc_client.hpp"

#include "framehive/shared/xmlrpc_codec.hpp"

#include <curl/curl.h>
#include <xmlrpc-c/base.h>

#include <atomic>
#include <fstream>
#include <mutex>

namespace fh::shared {
namespace {

/// Largest response accepted (set_xmlrpc_size_limit raises it).
std::atomic<std::size_t> g_max_response{16u << 20};

/// CA bundle for https:// URLs (set_tls_ca_file); empty: the system's.
std::mutex g_ca_mutex;
std::string g_ca_file;  ///< guarded by g_ca_mutex

std::string ca_file() {
  std::lock_guard<std::mutex> lock(g_ca_mutex);
  return g_ca_file;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string body;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto& sink = *static_cast<Sink*>(user);
  const std::size_t bytes = size * n;
  if (sink.body.size() + bytes > g_max_response.load(std::memory_order_relaxed)) {
    sink.too_large = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  sink.body.append(data, bytes);
  return bytes;
}

}  // namespace

// One curl easy handle: its connection is kept alive between calls (HTTP/1.1 keep-alive).
// Calls are written and responses parsed by the native codec (xmlrpc_codec.hpp): base64 with
// AVX2 both ways, which matters for frames of 70-100 KB (a task, a batch of add_tasks).
struct RpcClient::Impl {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  Sink sink;
  char error[CURL_ERROR_SIZE] = {};  ///< curl's detailed message of the last failure
  Impl(const std::string& url, int timeout_ms, const std::string& secret) {
    global_init();
    curl = curl_easy_init();
    if (!curl) throw RpcTransportError("cannot create an HTTP client (curl_easy_init)");
    headers = curl_slist_append(headers, "Content-Type: text/xml");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "framehive");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    // http:// and https:// only, and no redirect is followed (curl's default, stated here).
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (const auto ca = ca_file(); !ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
    if (!secret.empty()) {
      // Basic only: curl sends the credentials with the first request (no 401 round trip).
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(curl, CURLOPT_USERNAME, k_auth_user);
      curl_easy_setopt(curl, CURLOPT_PASSWORD, secret.c_str());
    }
  }
  ~Impl() {
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

RpcClient::RpcClient(std::string url, int timeout_ms, std::string auth_secret)
    : url_(std::move(url)), timeout_ms_(timeout_ms), auth_secret_(std::move(auth_secret)) {
  reset();
}

RpcClient::~RpcClient() = default;

void RpcClient::reset() { impl_ = std::make_unique<Impl>(url_, timeout_ms_, auth_secret_); }

xmlrpc_c::value RpcClient::call(const std::string& method, const xmlrpc_c::paramList& params) {
  std::string request;
  try {
    request = xmlrpc::serialize_call(method, params);
  } catch (const xmlrpc::CodecError& e) {
    throw std::invalid_argument(method + ": cannot send these parameters: " + e.what());
  }
  Impl& c = *impl_;
  c.sink.body.clear();
  c.sink.too_large = false;
  c.error[0] = '\0';
  curl_easy_setopt(c.curl, CURLOPT_POSTFIELDS, request.data());
  curl_easy_setopt(c.curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.size()));
  const CURLcode rc = curl_easy_perform(c.curl);
  const auto fail = [&](const std::string& why) {
    reset();  // a fresh connection for the next call
    return RpcTransportError(method + " at " + url_ + ": " + why);
  };
  if (rc != CURLE_OK) {
    if (c.sink.too_large) {
      throw fail("response larger than " + std::to_string(g_max_response.load()) + " bytes");
    }
    std::string why = c.error[0] ? c.error : curl_easy_strerror(rc);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      why = "the master's TLS certificate is not trusted (" + why +
            "): give --ca-file with the CA that signed it";
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
      why += " (only http:// and https:// URLs)";
    }
    throw fail(why);
  }
  long status = 0;
  curl_easy_getinfo(c.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401) {
    reset();
    throw RpcAuthError();
  }
  if (status != 200) throw fail("HTTP response code is " + std::to_string(status) + ", not 200");
  xmlrpc::ParsedResponse r;
  try {
    r = xmlrpc::parse_response(c.sink.body);
  } catch (const xmlrpc::CodecError& e) {
    throw fail(std::string("malformed XML-RPC response: ") + e.what());
  }
  if (r.is_fault) throw RpcFault(r.fault_code, r.fault_string);
  return r.value;
}

void set_tls_ca_file(const std::string& path) {
  if (!path.empty() && !std::ifstream(path)) {
    throw std::runtime_error("--ca-file " + path + ": cannot read it");
  }
  std::lock_guard<std::mutex> lock(g_ca_mutex);
  g_ca_file = path;
}

void set_xmlrpc_size_limit(std::size_t bytes) {
  xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, bytes);  // xmlrpc-c's parser, where still used
  g_max_response.store(bytes);
}

}  // namespace fh::shared
