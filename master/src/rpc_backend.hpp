#pragma once
// What RpcServer needs from an XML-RPC server back end (native or xmlrpc-c Abyss): both serve
// the same method table over the same HTTP contract. run() serves until stop(); stop() may be
// called from any thread, before or during run().

namespace fh::master {

class RpcBackend {
 public:
  virtual ~RpcBackend() = default;
  /// Serves until stop(); returns once no request is being served any more.
  virtual void run() = 0;
  /// Makes run() return.
  virtual void stop() = 0;
};

}  // namespace fh::master
