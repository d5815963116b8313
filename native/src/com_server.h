// Latchkey's IPluginAuthenticator COM server: a class factory registered for the CLSID on a
// dedicated multithreaded-apartment thread, and the bridge that hands each operation to JavaScript.
//
// Threading. Windows calls the object on RPC threads of the MTA (in-process callers in the MTA call
// it directly on their own thread). MakeCredential/GetAssertion copy the request, post it to the JS
// thread through one thread-safe function and block that RPC thread until JavaScript replies or the
// timeout passes. Because nothing waits on the COM thread itself and the MTA has no message loop to
// starve, CancelOperation and GetLockStatus are served on other RPC threads while an operation waits.
#pragma once

#include <windows.h>

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "plugin_api.h"

namespace latchkey {

enum class OperationKind { MakeCredential, GetAssertion };

/** One MakeCredential/GetAssertion call, copied out of Windows' memory; shared by the waiting RPC thread and JS. */
struct PendingOperation {
  OperationKind kind = OperationKind::MakeCredential;
  uint64_t hwnd = 0;
  GUID transactionId{};
  std::vector<uint8_t> requestSignature;
  std::vector<uint8_t> request;

  std::mutex mutex;
  std::condition_variable answered;
  bool done = false;
  HRESULT hresult = E_FAIL;
  std::vector<uint8_t> response;

  /** The first answer wins (a reply, the timeout, or the server stopping); false if already answered. */
  bool complete(HRESULT hr, std::vector<uint8_t> bytes = {});
  bool isDone();
};

class ComServer {
 public:
  static ComServer& instance();

  // JS thread.
  void start(Napi::Env env, const GUID& clsid, Napi::Object handlers, uint32_t timeoutMs);
  void stop();
  void setLocked(bool locked) { locked_.store(locked); }

  // COM threads; never throw.
  HRESULT runOperation(OperationKind kind, const plugin::OperationRequest* request,
                       plugin::OperationResponse* response) noexcept;
  HRESULT cancelOperation(const plugin::CancelOperationRequest* request) noexcept;
  HRESULT lockStatus(plugin::LockStatus* status) noexcept;

 private:
  ComServer() = default;
  void comThreadMain(GUID clsid);
  void deliverOperation(Napi::Env env, const std::shared_ptr<PendingOperation>& op);
  void deliverCancel(Napi::Env env, const GUID& transactionId);
  static void onEnvCleanup(void* self);

  std::mutex mutex_;
  bool running_ = false;
  Napi::ThreadSafeFunction toJs_;
  Napi::ObjectReference handlers_;  // touched on the JS thread only
  uint32_t timeoutMs_ = 0;
  std::set<std::shared_ptr<PendingOperation>> pending_;
  std::thread comThread_;
  HANDLE stopEvent_ = nullptr;
  napi_env env_ = nullptr;
  // Locked until TypeScript says otherwise: Windows must not assume credentials are usable.
  std::atomic<bool> locked_{true};
};

}  // namespace latchkey
