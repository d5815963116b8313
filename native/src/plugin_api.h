// Windows 11 passkey plugin API: the types and function-pointer signatures Latchkey's shim uses.
//
// Written for this project from the facts collected in shared/docs/windows-plugin-api.md (field
// order, enum values, calling convention); no SDK header text. Nothing here is linked: every
// function is resolved at run time from System32's webauthn.dll (see webauthn_api.cc), because a
// load-time import would stop the addon from loading on Windows builds without the plugin API.
//
// "REFCLSID"/"REFGUID" members of the v1 structs are C++ references, i.e. pointers at the ABI level;
// they are declared here as `const GUID*`.
#pragma once

#include <windows.h>

#include <cstddef>

namespace latchkey::plugin {

// --- COM interface: IPluginAuthenticator (IID d26bcf6f-b54c-43ff-9f06-d5bf148625f7) ---------------

enum RequestType : DWORD { kRequestTypeCtap2Cbor = 0x01 };

struct OperationRequest {
  HWND hWnd;                  // caller's top-level window
  GUID transactionId;         // identifies the WebAuthn operation (UV, cancellation)
  DWORD cbRequestSignature;
  BYTE* pbRequestSignature;   // Windows' signature over SHA-256(pbEncodedRequest)
  RequestType requestType;
  DWORD cbEncodedRequest;
  BYTE* pbEncodedRequest;     // CTAP2 CBOR request
};

struct OperationResponse {
  DWORD cbEncodedResponse;
  BYTE* pbEncodedResponse;    // CoTaskMemAlloc'd: the COM stub frees it
};

struct CancelOperationRequest {
  GUID transactionId;
  DWORD cbRequestSignature;
  BYTE* pbRequestSignature;
};

enum LockStatus : int { kPluginLocked = 0, kPluginUnlocked = 1 };

// The vtable after IUnknown, in IDL order; every method returns an HRESULT (stdcall on x86).
struct IPluginAuthenticator : public IUnknown {
  virtual HRESULT STDMETHODCALLTYPE MakeCredential(const OperationRequest* request, OperationResponse* response) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetAssertion(const OperationRequest* request, OperationResponse* response) = 0;
  virtual HRESULT STDMETHODCALLTYPE CancelOperation(const CancelOperationRequest* request) = 0;
  virtual HRESULT STDMETHODCALLTYPE GetLockStatus(LockStatus* lockStatus) = 0;
};

// d26bcf6f-b54c-43ff-9f06-d5bf148625f7, in Windows' GUID layout (Data1..3 as numbers).
inline constexpr GUID kIidPluginAuthenticator = {
    0xd26bcf6f, 0xb54c, 0x43ff, {0x9f, 0x06, 0xd5, 0xbf, 0x14, 0x86, 0x25, 0xf7}};

// --- Registration ----------------------------------------------------------------------------------

enum AuthenticatorState : int { kAuthenticatorDisabled = 0, kAuthenticatorEnabled = 1 };

struct AddAuthenticatorOptionsV1 {
  LPCWSTR pwszAuthenticatorName;
  const GUID* rclsid;
  LPCWSTR pwszPluginRpId;            // optional
  LPCWSTR pwszLightThemeLogoSvg;     // optional: UTF16(BASE64(UTF8(svg)))
  LPCWSTR pwszDarkThemeLogoSvg;      // optional
  DWORD cbAuthenticatorInfo;
  const BYTE* pbAuthenticatorInfo;   // authenticatorGetInfo: bare CBOR map, no status byte
  DWORD cSupportedRpIds;             // 0 / NULL: every RP
  const LPCWSTR* ppwszSupportedRpIds;
};

struct AddAuthenticatorOptionsV2 {
  LPCWSTR pwszAuthenticatorName;
  const GUID* pClsid;
  LPCWSTR pwszPluginRpId;
  LPCWSTR pwszLightThemeLogoSvg;
  LPCWSTR pwszDarkThemeLogoSvg;
  DWORD cbAuthenticatorInfo;
  const BYTE* pbAuthenticatorInfo;
  DWORD cSupportedRpIds;
  const LPCWSTR* ppwszSupportedRpIds;
  LPCWSTR pwszUserVerificationKeyName;  // optional
};

struct AddAuthenticatorResponse {
  DWORD cbOpSignPubKey;
  BYTE* pbOpSignPubKey;  // CNG public key blob (RSA1 / ECS1 …)
};

struct UpdateAuthenticatorDetailsV1 {
  LPCWSTR pwszAuthenticatorName;
  const GUID* rclsid;
  const GUID* rclsidNew;             // the same CLSID keeps it
  LPCWSTR pwszLightThemeLogoSvg;     // NULL removes it
  LPCWSTR pwszDarkThemeLogoSvg;
  DWORD cbAuthenticatorInfo;
  const BYTE* pbAuthenticatorInfo;
  DWORD cSupportedRpIds;
  const LPCWSTR* ppwszSupportedRpIds;
};

struct UpdateAuthenticatorDetailsV2 {
  LPCWSTR pwszAuthenticatorName;
  const GUID* pClsid;
  const GUID* pClsidNew;
  LPCWSTR pwszLightThemeLogoSvg;
  LPCWSTR pwszDarkThemeLogoSvg;
  DWORD cbAuthenticatorInfo;
  const BYTE* pbAuthenticatorInfo;
  DWORD cSupportedRpIds;
  const LPCWSTR* ppwszSupportedRpIds;
  LPCWSTR pwszUserVerificationKeyName;  // NULL removes it
};

// --- User verification -------------------------------------------------------------------------------

struct UserVerificationRequestV1 {
  HWND hwnd;
  const GUID* rguidTransactionId;
  LPCWSTR pwszUsername;
  LPCWSTR pwszDisplayHint;
};

struct UserVerificationRequestV2 {
  HWND hwnd;
  const GUID* pGuidTransactionId;
  LPCWSTR pwszUsername;
  LPCWSTR pwszDisplayHint;
  DWORD cbBufferToSign;   // optional; Windows signs it as given (no hashing)
  BYTE* pbBufferToSign;
};

// --- Credential metadata cache -----------------------------------------------------------------------

struct CredentialDetails {
  DWORD cbCredentialId;
  const BYTE* pbCredentialId;
  LPCWSTR pwszRpId;
  LPCWSTR pwszRpName;
  DWORD cbUserId;
  const BYTE* pbUserId;
  LPCWSTR pwszUserName;
  LPCWSTR pwszUserDisplayName;
};

#if defined(_WIN64)
// x64 layouts stated by the facts document (56 and 64 bytes).
static_assert(sizeof(OperationRequest) == 56, "WEBAUTHN_PLUGIN_OPERATION_REQUEST is 56 bytes on x64");
static_assert(offsetof(OperationRequest, pbEncodedRequest) == 48, "request layout");
static_assert(sizeof(CredentialDetails) == 64, "WEBAUTHN_PLUGIN_CREDENTIAL_DETAILS is 64 bytes on x64");
#endif

// --- Function pointers (all WINAPI) ------------------------------------------------------------------

using StatusChangeCallback = void(WINAPI*)(void* context);

using AddAuthenticatorV1Fn = HRESULT(WINAPI*)(const AddAuthenticatorOptionsV1*, AddAuthenticatorResponse**);
using AddAuthenticatorV2Fn = HRESULT(WINAPI*)(const AddAuthenticatorOptionsV2*, AddAuthenticatorResponse**);
using FreeAddAuthenticatorResponseFn = void(WINAPI*)(AddAuthenticatorResponse*);
using RemoveAuthenticatorFn = HRESULT(WINAPI*)(const GUID* clsid);
using UpdateAuthenticatorDetailsV1Fn = HRESULT(WINAPI*)(const UpdateAuthenticatorDetailsV1*);
using UpdateAuthenticatorDetailsV2Fn = HRESULT(WINAPI*)(const UpdateAuthenticatorDetailsV2*);
using GetAuthenticatorStateFn = HRESULT(WINAPI*)(const GUID* clsid, AuthenticatorState* state);
using RegisterStatusChangeCallbackFn = HRESULT(WINAPI*)(StatusChangeCallback, void* context, const GUID* clsid, DWORD* cookie);
using UnregisterStatusChangeCallbackFn = HRESULT(WINAPI*)(DWORD* cookie);
using GetPublicKeyFn = HRESULT(WINAPI*)(const GUID* clsid, DWORD* cbKey, BYTE** pbKey);
using FreePublicKeyResponseFn = void(WINAPI*)(BYTE*);
using PerformUserVerificationV1Fn = HRESULT(WINAPI*)(const UserVerificationRequestV1*, DWORD* cbResponse, BYTE** pbResponse);
using PerformUserVerificationV2Fn = HRESULT(WINAPI*)(const UserVerificationRequestV2*, DWORD* cbResponse, BYTE** pbResponse);
using FreeUserVerificationResponseFn = void(WINAPI*)(BYTE*);
using ChangeCredentialsFn = HRESULT(WINAPI*)(const GUID* clsid, DWORD count, const CredentialDetails* details);
using RemoveAllCredentialsFn = HRESULT(WINAPI*)(const GUID* clsid);
using GetAllCredentialsFn = HRESULT(WINAPI*)(const GUID* clsid, DWORD* count, CredentialDetails** details);
using FreeCredentialDetailsArrayFn = void(WINAPI*)(DWORD count, CredentialDetails* details);

}  // namespace latchkey::plugin
