#include "webauthn_api.h"

#include <mutex>

namespace latchkey {
namespace {

template <typename Fn>
bool resolve(HMODULE module, const char* name, Fn& out) {
  FARPROC proc = GetProcAddress(module, name);
  // FARPROC → the exact signature: the export's ABI is what plugin_api.h declares.
  out = reinterpret_cast<Fn>(reinterpret_cast<void*>(proc));
  return proc != nullptr;
}

void load(WebAuthnApi& api) {
  api.reason = kPluginApiMissingReason;
  // System32 only: never the working directory or PATH, so no planted webauthn.dll is picked up.
  HMODULE module = LoadLibraryExW(L"webauthn.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == nullptr) {
    DWORD error = GetLastError();
    api.unavailableHresult = HRESULT_FROM_WIN32(error);
    api.detail = "webauthn.dll could not be loaded from System32 (Win32 error " + std::to_string(error) + ")";
    return;
  }

  // Every v1 function is required: they all shipped together (26100.6725, Sept 2025).
  const char* missing = nullptr;
  auto need = [&](const char* name, auto& fn) {
    if (!resolve(module, name, fn) && missing == nullptr) missing = name;
  };
  need("WebAuthNPluginAddAuthenticator", api.addAuthenticator);
  need("WebAuthNPluginFreeAddAuthenticatorResponse", api.freeAddAuthenticatorResponse);
  need("WebAuthNPluginRemoveAuthenticator", api.removeAuthenticator);
  need("WebAuthNPluginUpdateAuthenticatorDetails", api.updateAuthenticatorDetails);
  need("WebAuthNPluginGetAuthenticatorState", api.getAuthenticatorState);
  need("WebAuthNPluginRegisterStatusChangeCallback", api.registerStatusChangeCallback);
  need("WebAuthNPluginUnregisterStatusChangeCallback", api.unregisterStatusChangeCallback);
  need("WebAuthNPluginGetOperationSigningPublicKey", api.getOperationSigningPublicKey);
  need("WebAuthNPluginGetUserVerificationPublicKey", api.getUserVerificationPublicKey);
  need("WebAuthNPluginFreePublicKeyResponse", api.freePublicKeyResponse);
  need("WebAuthNPluginPerformUserVerification", api.performUserVerification);
  need("WebAuthNPluginFreeUserVerificationResponse", api.freeUserVerificationResponse);
  need("WebAuthNPluginAuthenticatorAddCredentials", api.addCredentials);
  need("WebAuthNPluginAuthenticatorRemoveCredentials", api.removeCredentials);
  need("WebAuthNPluginAuthenticatorRemoveAllCredentials", api.removeAllCredentials);
  need("WebAuthNPluginAuthenticatorGetAllCredentials", api.getAllCredentials);
  need("WebAuthNPluginAuthenticatorFreeCredentialDetailsArray", api.freeCredentialDetailsArray);
  if (missing != nullptr) {
    api.unavailableHresult = HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND);
    api.detail = std::string("webauthn.dll has no ") + missing;
    // The module stays loaded (it is a system DLL); nothing is called through it.
    return;
  }

  // Optional v2 (26100/26200.8524+).
  api.useAddAuthenticator2 = resolve(module, "WebAuthNPluginAddAuthenticator2", api.addAuthenticator2);
  api.useUpdateAuthenticatorDetails2 =
      resolve(module, "WebAuthNPluginUpdateAuthenticatorDetails2", api.updateAuthenticatorDetails2);
  api.usePerformUserVerification2 =
      resolve(module, "WebAuthNPluginPerformUserVerification2", api.performUserVerification2);

  api.available = true;
  api.reason.clear();
}

}  // namespace

WebAuthnApi& webAuthnApi() {
  static WebAuthnApi api;
  static std::once_flag once;
  std::call_once(once, [] { load(api); });
  return api;
}

}  // namespace latchkey
