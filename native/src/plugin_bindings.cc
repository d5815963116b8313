#include "plugin_bindings.h"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "convert.h"
#include "own_thread.h"
#include "webauthn_api.h"

namespace latchkey {
namespace {

/** The loaded API, or a thrown Error that tells the user which Windows they need. */
WebAuthnApi& requireApi(Napi::Env env) {
  WebAuthnApi& api = webAuthnApi();
  if (!api.available) {
    Napi::Error error = Napi::Error::New(env, "Windows' passkey plugin API is unavailable: " + api.reason + " (" + api.detail + ")");
    error.Set("hresult", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(api.unavailableHresult))));
    throw error;
  }
  return api;
}

void check(Napi::Env env, const char* function, HRESULT hr) {
  if (FAILED(hr)) throwHresult(env, function, hr);
}

/** AuthenticatorRegistration, with storage that outlives the Win32 call. */
struct Registration {
  std::wstring name;
  GUID clsid{};
  std::optional<std::wstring> pluginRpId;
  std::optional<std::wstring> lightLogo;
  std::optional<std::wstring> darkLogo;
  std::vector<uint8_t> info;

  static const wchar_t* ptr(const std::optional<std::wstring>& s) { return s ? s->c_str() : nullptr; }
};

std::optional<std::wstring> optionalWide(const Napi::Object& object, const char* key) {
  std::optional<std::string> text = optionalStringArg(object.Get(key), key);
  if (!text) return std::nullopt;
  return toWide(*text);
}

Registration readRegistration(const Napi::Value& value) {
  Napi::Object object = objectArg(value, "registration");
  Registration r;
  r.name = toWide(stringArg(object.Get("name"), "registration.name"));
  r.clsid = guidArg(object.Get("clsid"), "registration.clsid");
  r.pluginRpId = optionalWide(object, "pluginRpId");
  r.lightLogo = optionalWide(object, "lightThemeLogoSvg");
  r.darkLogo = optionalWide(object, "darkThemeLogoSvg");
  r.info = bytesArg(object.Get("authenticatorInfo"), "registration.authenticatorInfo");
  return r;
}

Napi::Value clsidCall(const Napi::CallbackInfo& info, const char* function,
                      HRESULT (*call)(WebAuthnApi&, const GUID&)) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  check(env, function, call(api, clsid));
  return env.Undefined();
}

Napi::Value publicKey(const Napi::CallbackInfo& info, const char* function, plugin::GetPublicKeyFn WebAuthnApi::*which) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  DWORD size = 0;
  BYTE* key = nullptr;
  check(env, function, (api.*which)(&clsid, &size, &key));
  Napi::Uint8Array result = toUint8Array(env, key, key == nullptr ? 0 : size);
  if (key != nullptr) api.freePublicKeyResponse(key);
  return result;
}

// --- The credential metadata cache ---

/** CredentialDetails[] from JS, with the strings and bytes kept alive for the call. */
struct CredentialBatch {
  struct Owned {
    std::vector<uint8_t> credentialId, userId;
    std::wstring rpId, rpName, userName, userDisplayName;
  };
  std::vector<Owned> owned;
  std::vector<plugin::CredentialDetails> details;
};

CredentialBatch readCredentials(const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "credentials must be an array");
  Napi::Array array = value.As<Napi::Array>();
  CredentialBatch batch;
  batch.owned.resize(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Object c = objectArg(array.Get(i), "credentials[i]");
    CredentialBatch::Owned& o = batch.owned[i];
    o.credentialId = bytesArg(c.Get("credentialId"), "credentialId");
    o.rpId = toWide(stringArg(c.Get("rpId"), "rpId"));
    o.rpName = toWide(stringArg(c.Get("rpName"), "rpName"));
    o.userId = bytesArg(c.Get("userId"), "userId");
    o.userName = toWide(stringArg(c.Get("userName"), "userName"));
    o.userDisplayName = toWide(stringArg(c.Get("userDisplayName"), "userDisplayName"));
  }
  // Pointers are taken only after `owned` stopped growing.
  for (const CredentialBatch::Owned& o : batch.owned) {
    batch.details.push_back(plugin::CredentialDetails{
        static_cast<DWORD>(o.credentialId.size()), o.credentialId.data(), o.rpId.c_str(), o.rpName.c_str(),
        static_cast<DWORD>(o.userId.size()), o.userId.data(), o.userName.c_str(), o.userDisplayName.c_str()});
  }
  return batch;
}

Napi::Value changeCredentials(const Napi::CallbackInfo& info, const char* function,
                              plugin::ChangeCredentialsFn WebAuthnApi::*which) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  CredentialBatch batch = readCredentials(info[1]);
  if (batch.details.empty()) return env.Undefined();  // nothing to tell Windows
  check(env, function, (api.*which)(&clsid, static_cast<DWORD>(batch.details.size()), batch.details.data()));
  return env.Undefined();
}

// --- User verification ---

struct UserVerificationCall {
  HWND hwnd = nullptr;
  GUID transactionId{};
  std::wstring userName;
  std::optional<std::wstring> displayHint;
  HRESULT hresult = E_FAIL;
  std::vector<uint8_t> signature;
  const char* function = "WebAuthNPluginPerformUserVerification";
};

/** Blocks while Windows Hello asks the user: runs on its own thread, never on the JS thread. */
void runUserVerification(WebAuthnApi& api, UserVerificationCall& call) {
  DWORD size = 0;
  BYTE* signature = nullptr;
  HRESULT hr = E_NOTIMPL;
  if (api.usePerformUserVerification2.load()) {
    plugin::UserVerificationRequestV2 request{call.hwnd, &call.transactionId, call.userName.c_str(),
                                              call.displayHint ? call.displayHint->c_str() : nullptr, 0, nullptr};
    hr = api.performUserVerification2(&request, &size, &signature);
    call.function = "WebAuthNPluginPerformUserVerification2";
    if (hr == E_NOTIMPL) api.usePerformUserVerification2 = false;  // exported but not implemented: v1 from now on
  }
  if (hr == E_NOTIMPL) {
    plugin::UserVerificationRequestV1 request{call.hwnd, &call.transactionId, call.userName.c_str(),
                                              call.displayHint ? call.displayHint->c_str() : nullptr};
    size = 0;
    signature = nullptr;
    hr = api.performUserVerification(&request, &size, &signature);
    call.function = "WebAuthNPluginPerformUserVerification";
  }
  call.hresult = hr;
  if (SUCCEEDED(hr) && signature != nullptr) call.signature.assign(signature, signature + size);
  if (signature != nullptr) api.freeUserVerificationResponse(signature);
}

struct StatusSubscription {
  Napi::ThreadSafeFunction toJs;
  DWORD cookie = 0;
};

// The live subscriptions. A callback Windows makes late (while or after unsubscribing) finds its
// context gone from here and does nothing, instead of touching a released thread-safe function.
std::mutex subscriptionsMutex;
std::set<StatusSubscription*> liveSubscriptions;

void WINAPI statusChanged(void* context) {
  // Any Windows thread: hop to the JS thread.
  std::lock_guard<std::mutex> lock(subscriptionsMutex);
  auto* subscription = static_cast<StatusSubscription*>(context);
  if (liveSubscriptions.count(subscription) == 0) return;
  subscription->toJs.NonBlockingCall([](Napi::Env, Napi::Function callback) {
    try {
      callback.Call({});
    } catch (const Napi::Error& error) {
      // As with an event listener, a throwing callback is the program's uncaught exception.
      error.ThrowAsJavaScriptException();
    }
  });
}

}  // namespace

Napi::Value pluginApiInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = webAuthnApi();
  Napi::Object result = Napi::Object::New(env);
  result.Set("available", api.available);
  if (!api.available) {
    result.Set("reason", api.reason);
    return result;
  }
  result.Set("addAuthenticator", api.useAddAuthenticator2.load() ? 2 : 1);
  result.Set("updateAuthenticatorDetails", api.useUpdateAuthenticatorDetails2.load() ? 2 : 1);
  result.Set("performUserVerification", api.usePerformUserVerification2.load() ? 2 : 1);
  return result;
}

Napi::Value addAuthenticator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  Registration r = readRegistration(info[0]);
  plugin::AddAuthenticatorResponse* response = nullptr;
  HRESULT hr = E_NOTIMPL;
  const char* function = "WebAuthNPluginAddAuthenticator";
  if (api.useAddAuthenticator2.load()) {
    plugin::AddAuthenticatorOptionsV2 options{r.name.c_str(), &r.clsid, Registration::ptr(r.pluginRpId),
                                              Registration::ptr(r.lightLogo), Registration::ptr(r.darkLogo),
                                              static_cast<DWORD>(r.info.size()), r.info.data(), 0, nullptr, nullptr};
    hr = api.addAuthenticator2(&options, &response);
    function = "WebAuthNPluginAddAuthenticator2";
    if (hr == E_NOTIMPL) api.useAddAuthenticator2 = false;
  }
  if (hr == E_NOTIMPL) {
    plugin::AddAuthenticatorOptionsV1 options{r.name.c_str(), &r.clsid, Registration::ptr(r.pluginRpId),
                                              Registration::ptr(r.lightLogo), Registration::ptr(r.darkLogo),
                                              static_cast<DWORD>(r.info.size()), r.info.data(), 0, nullptr};
    response = nullptr;
    hr = api.addAuthenticator(&options, &response);
    function = "WebAuthNPluginAddAuthenticator";
  }
  if (FAILED(hr)) {
    if (response != nullptr) api.freeAddAuthenticatorResponse(response);
    throwHresult(env, function, hr);
  }
  Napi::Uint8Array key = response != nullptr && response->pbOpSignPubKey != nullptr
                             ? toUint8Array(env, response->pbOpSignPubKey, response->cbOpSignPubKey)
                             : Napi::Uint8Array::New(env, 0);
  if (response != nullptr) api.freeAddAuthenticatorResponse(response);
  return key;
}

Napi::Value updateAuthenticator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  Registration r = readRegistration(info[0]);
  HRESULT hr = E_NOTIMPL;
  const char* function = "WebAuthNPluginUpdateAuthenticatorDetails";
  if (api.useUpdateAuthenticatorDetails2.load()) {
    plugin::UpdateAuthenticatorDetailsV2 details{r.name.c_str(), &r.clsid, &r.clsid, Registration::ptr(r.lightLogo),
                                                 Registration::ptr(r.darkLogo), static_cast<DWORD>(r.info.size()),
                                                 r.info.data(), 0, nullptr, nullptr};
    hr = api.updateAuthenticatorDetails2(&details);
    function = "WebAuthNPluginUpdateAuthenticatorDetails2";
    if (hr == E_NOTIMPL) api.useUpdateAuthenticatorDetails2 = false;
  }
  if (hr == E_NOTIMPL) {
    // The same CLSID as "new": keep it (and with it the operation-signing key).
    plugin::UpdateAuthenticatorDetailsV1 details{r.name.c_str(), &r.clsid, &r.clsid, Registration::ptr(r.lightLogo),
                                                 Registration::ptr(r.darkLogo), static_cast<DWORD>(r.info.size()),
                                                 r.info.data(), 0, nullptr};
    hr = api.updateAuthenticatorDetails(&details);
    function = "WebAuthNPluginUpdateAuthenticatorDetails";
  }
  check(env, function, hr);
  return env.Undefined();
}

Napi::Value removeAuthenticator(const Napi::CallbackInfo& info) {
  return clsidCall(info, "WebAuthNPluginRemoveAuthenticator",
                   [](WebAuthnApi& api, const GUID& clsid) { return api.removeAuthenticator(&clsid); });
}

Napi::Value getAuthenticatorState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  plugin::AuthenticatorState state = plugin::kAuthenticatorDisabled;
  HRESULT hr = api.getAuthenticatorState(&clsid, &state);
  if (hr == NTE_NOT_FOUND) return Napi::String::New(env, "not-registered");
  check(env, "WebAuthNPluginGetAuthenticatorState", hr);
  return Napi::String::New(env, state == plugin::kAuthenticatorEnabled ? "enabled" : "disabled");
}

Napi::Value onStatusChange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");

  auto* subscription = new StatusSubscription();
  subscription->toJs = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "latchkey-status-change", 0, 1,
                                                     subscription, [](Napi::Env, StatusSubscription* s) { delete s; });
  auto forget = [subscription] {
    std::lock_guard<std::mutex> lock(subscriptionsMutex);
    liveSubscriptions.erase(subscription);
    subscription->toJs.Release();  // its finalizer deletes the subscription
  };
  {
    std::lock_guard<std::mutex> lock(subscriptionsMutex);
    liveSubscriptions.insert(subscription);
  }
  HRESULT hr = api.registerStatusChangeCallback(&statusChanged, subscription, &clsid, &subscription->cookie);
  if (FAILED(hr)) {
    forget();
    throwHresult(env, "WebAuthNPluginRegisterStatusChangeCallback", hr);
  }
  return Napi::Function::New(
      env,
      [subscription, forget, unsubscribed = std::make_shared<bool>(false)](const Napi::CallbackInfo& info) -> Napi::Value {
        Napi::Env env = info.Env();
        if (*unsubscribed) return env.Undefined();  // idempotent (the subscription may be gone by now)
        *unsubscribed = true;
        HRESULT hr = webAuthnApi().unregisterStatusChangeCallback(&subscription->cookie);
        forget();
        check(env, "WebAuthNPluginUnregisterStatusChangeCallback", hr);
        return env.Undefined();
      },
      "unsubscribe");
}

Napi::Value getOperationSigningPublicKey(const Napi::CallbackInfo& info) {
  return publicKey(info, "WebAuthNPluginGetOperationSigningPublicKey", &WebAuthnApi::getOperationSigningPublicKey);
}

Napi::Value getUserVerificationPublicKey(const Napi::CallbackInfo& info) {
  return publicKey(info, "WebAuthNPluginGetUserVerificationPublicKey", &WebAuthnApi::getUserVerificationPublicKey);
}

Napi::Value performUserVerification(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  WebAuthnApi& api = webAuthnApi();
  auto call = std::make_shared<UserVerificationCall>();
  try {
    requireApi(env);
    Napi::Object request = objectArg(info[0], "request");
    call->hwnd = hwndArg(request.Get("hwnd"), "request.hwnd");
    call->transactionId = guidArg(request.Get("transactionId"), "request.transactionId");
    call->userName = toWide(stringArg(request.Get("userName"), "request.userName"));
    std::optional<std::string> hint = optionalStringArg(request.Get("displayHint"), "request.displayHint");
    if (hint) call->displayHint = toWide(*hint);
  } catch (const Napi::Error& error) {
    deferred.Reject(error.Value());
    return deferred.Promise();
  }

  return promiseFromOwnThread<std::shared_ptr<UserVerificationCall>>(
      env,
      [&api, call] {
        runUserVerification(api, *call);
        return call;
      },
      [](Napi::Env env, Napi::Promise::Deferred& settle, std::shared_ptr<UserVerificationCall>& done) {
        if (SUCCEEDED(done->hresult)) {
          settle.Resolve(toUint8Array(env, done->signature.data(), done->signature.size()));
        } else {
          settle.Reject(hresultError(env, done->function, done->hresult).Value());
        }
      });
}

Napi::Value addCredentials(const Napi::CallbackInfo& info) {
  return changeCredentials(info, "WebAuthNPluginAuthenticatorAddCredentials", &WebAuthnApi::addCredentials);
}

Napi::Value removeCredentials(const Napi::CallbackInfo& info) {
  return changeCredentials(info, "WebAuthNPluginAuthenticatorRemoveCredentials", &WebAuthnApi::removeCredentials);
}

Napi::Value removeAllCredentials(const Napi::CallbackInfo& info) {
  return clsidCall(info, "WebAuthNPluginAuthenticatorRemoveAllCredentials",
                   [](WebAuthnApi& api, const GUID& clsid) { return api.removeAllCredentials(&clsid); });
}

Napi::Value getAllCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WebAuthnApi& api = requireApi(env);
  GUID clsid = guidArg(info[0], "clsid");
  DWORD count = 0;
  plugin::CredentialDetails* details = nullptr;
  HRESULT hr = api.getAllCredentials(&clsid, &count, &details);
  Napi::Array result = Napi::Array::New(env);
  // An empty cache answers ERROR_FILE_NOT_FOUND: that is an empty list, not a failure.
  if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) return result;
  check(env, "WebAuthNPluginAuthenticatorGetAllCredentials", hr);
  // Windows' array is freed however the copy ends.
  std::unique_ptr<plugin::CredentialDetails, std::function<void(plugin::CredentialDetails*)>> owned(
      details, [&api, count](plugin::CredentialDetails* p) { api.freeCredentialDetailsArray(count, p); });
  for (DWORD i = 0; details != nullptr && i < count; i++) {
    const plugin::CredentialDetails& d = details[i];
    Napi::Object c = Napi::Object::New(env);
    c.Set("credentialId", toUint8Array(env, d.pbCredentialId, d.pbCredentialId == nullptr ? 0 : d.cbCredentialId));
    c.Set("rpId", toUtf8(d.pwszRpId));
    c.Set("rpName", toUtf8(d.pwszRpName));
    c.Set("userId", toUint8Array(env, d.pbUserId, d.pbUserId == nullptr ? 0 : d.cbUserId));
    c.Set("userName", toUtf8(d.pwszUserName));
    c.Set("userDisplayName", toUtf8(d.pwszUserDisplayName));
    result.Set(i, c);
  }
  return result;
}

}  // namespace latchkey
