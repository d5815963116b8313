#include "com_server.h"

#include <objbase.h>

#include <chrono>
#include <cstring>
#include <future>
#include <new>
#include <string>

#include "convert.h"

namespace latchkey {
namespace {

// Runs `body` and turns anything it throws into an HRESULT: a COM method must never unwind into
// its caller, whatever happens inside.
template <typename Body>
HRESULT guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return E_OUTOFMEMORY;
  } catch (...) {
    return E_FAIL;
  }
}

/** IUnknown for an object that implements one interface besides IUnknown; deleted at refcount 0. */
template <typename Interface>
class ComObject : public Interface {
 public:
  explicit ComObject(const IID& iid) : iid_(iid) {}
  virtual ~ComObject() = default;

  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void** out) noexcept override {
    if (out == nullptr) return E_POINTER;
    *out = nullptr;
    if (!IsEqualIID(riid, IID_IUnknown) && !IsEqualIID(riid, iid_)) return E_NOINTERFACE;
    *out = static_cast<Interface*>(this);
    AddRef();
    return S_OK;
  }
  ULONG STDMETHODCALLTYPE AddRef() noexcept override { return ++refs_; }
  ULONG STDMETHODCALLTYPE Release() noexcept override {
    ULONG left = --refs_;
    if (left == 0) delete this;
    return left;
  }

 private:
  const IID iid_;
  std::atomic<ULONG> refs_{1};
};

/** The COM object Windows calls. Stateless: every call goes to the process's one ComServer. */
class PluginAuthenticator final : public ComObject<plugin::IPluginAuthenticator> {
 public:
  PluginAuthenticator() : ComObject(plugin::kIidPluginAuthenticator) {}

  HRESULT STDMETHODCALLTYPE MakeCredential(const plugin::OperationRequest* request,
                                           plugin::OperationResponse* response) noexcept override {
    return guarded([&] { return ComServer::instance().runOperation(OperationKind::MakeCredential, request, response); });
  }
  HRESULT STDMETHODCALLTYPE GetAssertion(const plugin::OperationRequest* request,
                                         plugin::OperationResponse* response) noexcept override {
    return guarded([&] { return ComServer::instance().runOperation(OperationKind::GetAssertion, request, response); });
  }
  HRESULT STDMETHODCALLTYPE CancelOperation(const plugin::CancelOperationRequest* request) noexcept override {
    return guarded([&] { return ComServer::instance().cancelOperation(request); });
  }
  HRESULT STDMETHODCALLTYPE GetLockStatus(plugin::LockStatus* status) noexcept override {
    return guarded([&] { return ComServer::instance().lockStatus(status); });
  }
};

class ClassFactory final : public ComObject<IClassFactory> {
 public:
  ClassFactory() : ComObject(IID_IClassFactory) {}

  HRESULT STDMETHODCALLTYPE CreateInstance(IUnknown* outer, REFIID riid, void** out) noexcept override {
    return guarded([&]() -> HRESULT {
      if (out == nullptr) return E_POINTER;
      *out = nullptr;
      if (outer != nullptr) return CLASS_E_NOAGGREGATION;
      auto* object = new (std::nothrow) PluginAuthenticator();
      if (object == nullptr) return E_OUTOFMEMORY;
      HRESULT hr = object->QueryInterface(riid, out);
      object->Release();
      return hr;
    });
  }
  HRESULT STDMETHODCALLTYPE LockServer(BOOL) noexcept override { return S_OK; }
};

}  // namespace

// --- PendingOperation --------------------------------------------------------------------------------

bool PendingOperation::complete(HRESULT hr, std::vector<uint8_t> bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (done) return false;
    done = true;
    hresult = hr;
    response = std::move(bytes);
  }
  answered.notify_all();
  return true;
}

bool PendingOperation::isDone() {
  std::lock_guard<std::mutex> lock(mutex);
  return done;
}

// --- ComServer: JS thread ------------------------------------------------------------------------------

ComServer& ComServer::instance() {
  static ComServer server;
  return server;
}

void ComServer::start(Napi::Env env, const GUID& clsid, Napi::Object handlers, uint32_t timeoutMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_) throw Napi::Error::New(env, "the COM server is already running; stopComServer() first");

  stopEvent_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (stopEvent_ == nullptr) throwHresult(env, "CreateEvent", HRESULT_FROM_WIN32(GetLastError()));

  // One thread-safe function carries operations and cancellations to JS; while it exists it keeps
  // the event loop alive, which is what a COM server process wants.
  toJs_ = Napi::ThreadSafeFunction::New(env, handlers.Get("onOperation").As<Napi::Function>(),
                                        "latchkey-com-server", 0, 1);
  handlers_ = Napi::Persistent(handlers);
  timeoutMs_ = timeoutMs;

  std::promise<HRESULT> started;
  std::future<HRESULT> result = started.get_future();
  // The promise moves into the thread: set_value must not race with this frame going away.
  comThread_ = std::thread([this, clsid, started = std::move(started)]() mutable {
    // Registration happens on the COM thread; report its result before waiting for stop.
    HRESULT hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    DWORD cookie = 0;
    ClassFactory* factory = nullptr;
    if (SUCCEEDED(hr)) {
      // What COM servers of this kind do; RPC_E_TOO_LATE means someone in the process already did.
      CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_DEFAULT, RPC_C_IMP_LEVEL_IMPERSONATE,
                           nullptr, EOAC_NONE, nullptr);
      factory = new (std::nothrow) ClassFactory();
      hr = factory == nullptr ? E_OUTOFMEMORY
                              : CoRegisterClassObject(clsid, factory, CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE, &cookie);
      if (FAILED(hr)) CoUninitialize();
    }
    started.set_value(hr);
    if (FAILED(hr)) {
      if (factory != nullptr) factory->Release();
      return;
    }
    WaitForSingleObject(stopEvent_, INFINITE);
    CoRevokeClassObject(cookie);
    factory->Release();
    CoUninitialize();
  });
  HRESULT hr = result.get();
  if (FAILED(hr)) {
    comThread_.join();
    CloseHandle(stopEvent_);
    stopEvent_ = nullptr;
    toJs_.Release();
    handlers_.Reset();
    throwHresult(env, "CoRegisterClassObject", hr);
  }
  running_ = true;
  if (env_ == nullptr) {
    env_ = env;
    napi_add_env_cleanup_hook(env, &ComServer::onEnvCleanup, this);
  }
}

void ComServer::stop() {
  std::set<std::shared_ptr<PendingOperation>> abandoned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
    running_ = false;
    abandoned.swap(pending_);
  }
  // Revoke first, so no new activation finds us; then answer whatever still waits.
  SetEvent(stopEvent_);
  if (comThread_.joinable()) comThread_.join();
  CloseHandle(stopEvent_);
  stopEvent_ = nullptr;
  for (const auto& op : abandoned) op->complete(CO_E_SERVER_STOPPING);
  toJs_.Release();
  handlers_.Reset();
}

void ComServer::onEnvCleanup(void* self) {
  // Node is exiting: revoke the class registration so COM stops routing to a dead process.
  static_cast<ComServer*>(self)->stop();
}

void ComServer::deliverOperation(Napi::Env env, const std::shared_ptr<PendingOperation>& op) {
  if (op->isDone()) return;  // timed out or stopped while queued
  try {
    Napi::HandleScope scope(env);
    if (handlers_.IsEmpty()) {
      op->complete(CO_E_SERVER_STOPPING);
      return;
    }
    Napi::Object handlers = handlers_.Value();
    Napi::Object operation = Napi::Object::New(env);
    operation.Set("kind", op->kind == OperationKind::MakeCredential ? "makeCredential" : "getAssertion");
    operation.Set("hwnd", Napi::BigInt::New(env, op->hwnd));
    operation.Set("transactionId", formatGuid(op->transactionId));
    operation.Set("requestSignature", toUint8Array(env, op->requestSignature.data(), op->requestSignature.size()));
    operation.Set("request", toUint8Array(env, op->request.data(), op->request.size()));

    Napi::Function reply = Napi::Function::New(
        env,
        [op](const Napi::CallbackInfo& info) -> Napi::Value {
          Napi::Env env = info.Env();
          auto refuse = [&](const char* why) -> Napi::Value {
            op->complete(E_FAIL);  // a malformed answer must not leave Windows waiting
            throw Napi::TypeError::New(env, why);
          };
          if (info.Length() < 1 || !info[0].IsObject()) return refuse("reply(answer): answer must be an object");
          Napi::Object answer = info[0].As<Napi::Object>();
          Napi::Value code = answer.Get("hresult");
          if (!code.IsNumber()) return refuse("reply(answer): answer.hresult must be a number");
          double value = code.As<Napi::Number>().DoubleValue();
          if (!(value >= -2147483648.0 && value <= 4294967295.0) || value != static_cast<double>(static_cast<int64_t>(value))) {
            return refuse("reply(answer): answer.hresult must be a 32-bit HRESULT");
          }
          HRESULT hr = static_cast<HRESULT>(static_cast<uint32_t>(static_cast<int64_t>(value)));
          if (hr != S_OK) {
            // A success code other than S_OK carries no response: Windows would read an empty buffer.
            op->complete(FAILED(hr) ? hr : E_FAIL);
            return env.Undefined();
          }
          Napi::Value bytes = answer.Get("response");
          if (!bytes.IsTypedArray() || bytes.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
              bytes.As<Napi::Uint8Array>().ByteLength() == 0) {
            return refuse("reply(answer): a success answer needs a non-empty Uint8Array response");
          }
          Napi::Uint8Array array = bytes.As<Napi::Uint8Array>();
          op->complete(S_OK, std::vector<uint8_t>(array.Data(), array.Data() + array.ByteLength()));
          return env.Undefined();
        },
        "reply");

    handlers.Get("onOperation").As<Napi::Function>().Call(handlers, {operation, reply});
  } catch (const Napi::Error& error) {
    // TypeScript threw: Windows gets E_FAIL, the server lives on, and the cause is not lost.
    op->complete(E_FAIL);
    try {
      Napi::Object process = env.Global().Get("process").As<Napi::Object>();
      process.Get("emitWarning")
          .As<Napi::Function>()
          .Call(process, {Napi::String::New(env, std::string("COM operation handler threw: ") + error.Message())});
    } catch (...) {
    }
  } catch (...) {
    op->complete(E_FAIL);
  }
}

void ComServer::deliverCancel(Napi::Env env, const GUID& transactionId) {
  try {
    Napi::HandleScope scope(env);
    if (handlers_.IsEmpty()) return;
    Napi::Object handlers = handlers_.Value();
    handlers.Get("onCancel").As<Napi::Function>().Call(handlers, {Napi::String::New(env, formatGuid(transactionId))});
  } catch (...) {
    // Cancellation is advisory; a throwing handler changes nothing for Windows.
  }
}

// --- ComServer: COM threads ------------------------------------------------------------------------------

HRESULT ComServer::runOperation(OperationKind kind, const plugin::OperationRequest* request,
                                plugin::OperationResponse* response) noexcept {
  return guarded([&]() -> HRESULT {
    if (response == nullptr) return E_POINTER;
    response->cbEncodedResponse = 0;
    response->pbEncodedResponse = nullptr;
    if (request == nullptr) return E_POINTER;
    if ((request->cbEncodedRequest > 0 && request->pbEncodedRequest == nullptr) ||
        (request->cbRequestSignature > 0 && request->pbRequestSignature == nullptr)) {
      return E_INVALIDARG;
    }

    // Windows owns the request memory only for this call: copy everything before JS sees it.
    auto op = std::make_shared<PendingOperation>();
    op->kind = kind;
    op->hwnd = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(request->hWnd));
    op->transactionId = request->transactionId;
    op->requestSignature.assign(request->pbRequestSignature, request->pbRequestSignature + request->cbRequestSignature);
    op->request.assign(request->pbEncodedRequest, request->pbEncodedRequest + request->cbEncodedRequest);

    uint32_t timeoutMs = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!running_) return CO_E_SERVER_STOPPING;
      pending_.insert(op);
      napi_status status = toJs_.NonBlockingCall([this, op](Napi::Env env, Napi::Function) { deliverOperation(env, op); });
      if (status != napi_ok) {
        pending_.erase(op);
        return E_FAIL;
      }
      timeoutMs = timeoutMs_;
    }

    {
      std::unique_lock<std::mutex> lock(op->mutex);
      if (!op->answered.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return op->done; })) {
        // JavaScript never answered (a hung handler, a lost reply): Windows hears a timeout.
        op->done = true;
        op->hresult = HRESULT_FROM_WIN32(ERROR_TIMEOUT);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.erase(op);
    }

    // `done` is set, so no one writes these any more.
    if (FAILED(op->hresult)) return op->hresult;
    if (op->response.empty()) return E_FAIL;
    auto* buffer = static_cast<BYTE*>(CoTaskMemAlloc(op->response.size()));
    if (buffer == nullptr) return E_OUTOFMEMORY;
    memcpy(buffer, op->response.data(), op->response.size());
    response->cbEncodedResponse = static_cast<DWORD>(op->response.size());
    response->pbEncodedResponse = buffer;
    return S_OK;
  });
}

HRESULT ComServer::cancelOperation(const plugin::CancelOperationRequest* request) noexcept {
  return guarded([&]() -> HRESULT {
    if (request == nullptr) return E_POINTER;
    GUID transactionId = request->transactionId;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return CO_E_SERVER_STOPPING;
    // Answered at once; TypeScript ends the pending operation (its reply releases the waiting call).
    napi_status status = toJs_.NonBlockingCall(
        [this, transactionId](Napi::Env env, Napi::Function) { deliverCancel(env, transactionId); });
    return status == napi_ok ? S_OK : E_FAIL;
  });
}

HRESULT ComServer::lockStatus(plugin::LockStatus* status) noexcept {
  if (status == nullptr) return E_POINTER;
  *status = locked_.load() ? plugin::kPluginLocked : plugin::kPluginUnlocked;
  return S_OK;
}

}  // namespace latchkey
