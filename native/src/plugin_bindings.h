// JavaScript entry points for the plugin API of webauthn.dll (registration, state, keys, user
// verification, the credential metadata cache). Each throws an Error with `hresult` on failure.
#pragma once

#include <napi.h>

namespace latchkey {

Napi::Value pluginApiInfo(const Napi::CallbackInfo& info);
Napi::Value addAuthenticator(const Napi::CallbackInfo& info);
Napi::Value updateAuthenticator(const Napi::CallbackInfo& info);
Napi::Value removeAuthenticator(const Napi::CallbackInfo& info);
Napi::Value getAuthenticatorState(const Napi::CallbackInfo& info);
Napi::Value onStatusChange(const Napi::CallbackInfo& info);
Napi::Value getOperationSigningPublicKey(const Napi::CallbackInfo& info);
Napi::Value getUserVerificationPublicKey(const Napi::CallbackInfo& info);
Napi::Value performUserVerification(const Napi::CallbackInfo& info);
Napi::Value addCredentials(const Napi::CallbackInfo& info);
Napi::Value removeCredentials(const Napi::CallbackInfo& info);
Napi::Value removeAllCredentials(const Napi::CallbackInfo& info);
Napi::Value getAllCredentials(const Napi::CallbackInfo& info);

}  // namespace latchkey
