// latchkey_windows.node: the addon's module entry and the bindings that are not the plugin API
// (the COM server and DPAPI). The exact surface is src/transports/windows/native.ts.
#include <windows.h>
#include <dpapi.h>

#include <napi.h>

#include <cmath>
#include <string>

#include "choice_dialog.h"
#include "com_server.h"
#include "convert.h"
#include "plugin_bindings.h"

namespace latchkey {
namespace {

Napi::Value startComServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUID clsid = guidArg(info[0], "clsid");
  Napi::Object handlers = objectArg(info[1], "handlers");
  if (!handlers.Get("onOperation").IsFunction() || !handlers.Get("onCancel").IsFunction()) {
    throw Napi::TypeError::New(env, "handlers.onOperation and handlers.onCancel must be functions");
  }
  Napi::Object options = objectArg(info[2], "options");
  Napi::Value timeout = options.Get("timeoutMs");
  double ms = timeout.IsNumber() ? timeout.As<Napi::Number>().DoubleValue() : NAN;
  if (!(ms >= 1 && ms <= 86400000.0)) throw Napi::RangeError::New(env, "options.timeoutMs must be 1 … 86400000");
  ComServer::instance().start(env, clsid, handlers, static_cast<uint32_t>(ms));
  return env.Undefined();
}

Napi::Value setLockStatus(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "locked must be a boolean");
  ComServer::instance().setLocked(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value stopComServer(const Napi::CallbackInfo& info) {
  ComServer::instance().stop();
  return info.Env().Undefined();
}

/** CryptProtectData / CryptUnprotectData for the current user, never with UI. */
Napi::Value dpapi(const Napi::CallbackInfo& info, bool protect) {
  Napi::Env env = info.Env();
  std::vector<uint8_t> input = bytesArg(info[0], "data");
  DATA_BLOB in{static_cast<DWORD>(input.size()), input.data()};
  DATA_BLOB out{0, nullptr};
  BOOL ok = protect ? CryptProtectData(&in, L"Latchkey vault key", nullptr, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &out)
                    : CryptUnprotectData(&in, nullptr, nullptr, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &out);
  SecureZeroMemory(input.data(), input.size());
  if (!ok) throwHresult(env, protect ? "CryptProtectData" : "CryptUnprotectData", HRESULT_FROM_WIN32(GetLastError()));
  Napi::Uint8Array result = toUint8Array(env, out.pbData, out.cbData);
  SecureZeroMemory(out.pbData, out.cbData);
  LocalFree(out.pbData);
  return result;
}

}  // namespace
}  // namespace latchkey

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace latchkey;
  auto fn = [&](const char* name, Napi::Function::Callback callback) {
    exports.Set(name, Napi::Function::New(env, callback, name));
  };
  fn("pluginApi", pluginApiInfo);
  fn("startComServer", startComServer);
  fn("setLockStatus", setLockStatus);
  fn("stopComServer", stopComServer);
  fn("addAuthenticator", addAuthenticator);
  fn("updateAuthenticator", updateAuthenticator);
  fn("removeAuthenticator", removeAuthenticator);
  fn("getAuthenticatorState", getAuthenticatorState);
  fn("onStatusChange", onStatusChange);
  fn("getOperationSigningPublicKey", getOperationSigningPublicKey);
  fn("getUserVerificationPublicKey", getUserVerificationPublicKey);
  fn("performUserVerification", performUserVerification);
  fn("addCredentials", addCredentials);
  fn("removeCredentials", removeCredentials);
  fn("removeAllCredentials", removeAllCredentials);
  fn("getAllCredentials", getAllCredentials);
  fn("chooseCredential", chooseCredential);
  fn("protectData", [](const Napi::CallbackInfo& info) { return dpapi(info, true); });
  fn("unprotectData", [](const Napi::CallbackInfo& info) { return dpapi(info, false); });
  return exports;
}

NODE_API_MODULE(latchkey_windows, init)
