// The plugin functions of System32's webauthn.dll, resolved once at run time.
#pragma once

#include <atomic>
#include <string>

#include "plugin_api.h"

namespace latchkey {

/** What the user is told when the plugin API is missing (a Windows build before the plugin API). */
inline constexpr const char* kPluginApiMissingReason = "needs Windows 11 24H2/25H2 build 26100.6725 or later";

struct WebAuthnApi {
  bool available = false;
  /** For the user, when unavailable. */
  std::string reason;
  /** For the log/errors, when unavailable: which load or which export failed. */
  std::string detail;
  /** HRESULT for errors thrown while unavailable. */
  HRESULT unavailableHresult = S_OK;

  plugin::AddAuthenticatorV1Fn addAuthenticator = nullptr;
  plugin::AddAuthenticatorV2Fn addAuthenticator2 = nullptr;
  plugin::FreeAddAuthenticatorResponseFn freeAddAuthenticatorResponse = nullptr;
  plugin::RemoveAuthenticatorFn removeAuthenticator = nullptr;
  plugin::UpdateAuthenticatorDetailsV1Fn updateAuthenticatorDetails = nullptr;
  plugin::UpdateAuthenticatorDetailsV2Fn updateAuthenticatorDetails2 = nullptr;
  plugin::GetAuthenticatorStateFn getAuthenticatorState = nullptr;
  plugin::RegisterStatusChangeCallbackFn registerStatusChangeCallback = nullptr;
  plugin::UnregisterStatusChangeCallbackFn unregisterStatusChangeCallback = nullptr;
  plugin::GetPublicKeyFn getOperationSigningPublicKey = nullptr;
  plugin::GetPublicKeyFn getUserVerificationPublicKey = nullptr;
  plugin::FreePublicKeyResponseFn freePublicKeyResponse = nullptr;
  plugin::PerformUserVerificationV1Fn performUserVerification = nullptr;
  plugin::PerformUserVerificationV2Fn performUserVerification2 = nullptr;
  plugin::FreeUserVerificationResponseFn freeUserVerificationResponse = nullptr;
  plugin::ChangeCredentialsFn addCredentials = nullptr;
  plugin::ChangeCredentialsFn removeCredentials = nullptr;
  plugin::RemoveAllCredentialsFn removeAllCredentials = nullptr;
  plugin::GetAllCredentialsFn getAllCredentials = nullptr;
  plugin::FreeCredentialDetailsArrayFn freeCredentialDetailsArray = nullptr;

  // A v2 export may exist and still answer E_NOTIMPL; the first such answer demotes it to v1 for
  // the rest of the process.
  std::atomic<bool> useAddAuthenticator2{false};
  std::atomic<bool> useUpdateAuthenticatorDetails2{false};
  std::atomic<bool> usePerformUserVerification2{false};
};

/** Loads webauthn.dll from System32 on first use; never throws, never fails the addon's load. */
WebAuthnApi& webAuthnApi();

}  // namespace latchkey
