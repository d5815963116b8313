/*
 * A test double of Windows' webauthn.dll that plays Windows for Latchkey's addon under Wine.
 * Test-only; it is built into the test prefix's System32 (see test/windows/support/wineEnv.ts).
 *
 * - Exports the plugin functions the addon resolves, with the signatures of native/src/plugin_api.h.
 * - Records every call as one JSON line in the file named by LATCHKEY_DOUBLE_LOG.
 * - Holds an operation-signing key and a user-verification key made with CNG (bcrypt.dll):
 *   LATCHKEY_DOUBLE_KEY = ecdsa (P-256, ECS1, raw r||s; the default) | rsa-pkcs1 | rsa-pss (RSA1, 2048 bits,
 *   PKCS#1 v1.5 or PSS with a 32-byte salt).
 * - Answers user verification as DoubleSetUserVerification says: accept, decline (NTE_USER_CANCELLED)
 *   or slow (accept after a delay).
 * - Plays the WebAuthn service calling the plugin: DoubleInvokeOperation activates the CLSID that
 *   AddAuthenticator registered, through COM (CoGetClassObject finds the class object Latchkey
 *   registered with CoRegisterClassObject), signs the request and calls MakeCredential/GetAssertion.
 * - LATCHKEY_DOUBLE_V2 = notimpl makes the v2 functions answer E_NOTIMPL (exported but unimplemented).
 *
 * Built without the plugin exports (-DDOUBLE_WITHOUT_PLUGIN_API) it plays a Windows before the API.
 */
#define COBJMACROS
#include <windows.h>
#include <bcrypt.h>
#include <objbase.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define EXPORT __declspec(dllexport)

#ifndef NTE_USER_CANCELLED
#define NTE_USER_CANCELLED ((HRESULT)0x80090036L)
#endif

EXPORT DWORD WINAPI WebAuthNGetApiVersionNumber(void) { return 8; }

#ifndef DOUBLE_WITHOUT_PLUGIN_API

/* ---- ABI of the plugin API (mirrors native/src/plugin_api.h, in C) ---- */

typedef struct {
  LPCWSTR name;
  const GUID *clsid;
  LPCWSTR pluginRpId, lightLogo, darkLogo;
  DWORD cbInfo;
  const BYTE *pbInfo;
  DWORD cRpIds;
  const LPCWSTR *rpIds;
  LPCWSTR uvKeyName; /* v2 only */
} AddOptions;

typedef struct {
  LPCWSTR name;
  const GUID *clsid, *clsidNew;
  LPCWSTR lightLogo, darkLogo;
  DWORD cbInfo;
  const BYTE *pbInfo;
  DWORD cRpIds;
  const LPCWSTR *rpIds;
  LPCWSTR uvKeyName; /* v2 only */
} UpdateDetails;

typedef struct {
  DWORD cbKey;
  BYTE *pbKey;
} AddResponse;

typedef struct {
  HWND hwnd;
  const GUID *transactionId;
  LPCWSTR userName, displayHint;
  DWORD cbBuffer; /* v2 only */
  BYTE *pbBuffer; /* v2 only */
} UvRequest;

typedef struct {
  DWORD cbId;
  const BYTE *pbId;
  LPCWSTR rpId, rpName;
  DWORD cbUserId;
  const BYTE *pbUserId;
  LPCWSTR userName, userDisplayName;
} CredentialDetails;

typedef struct {
  HWND hWnd;
  GUID transactionId;
  DWORD cbSignature;
  BYTE *pbSignature;
  DWORD requestType;
  DWORD cbRequest;
  BYTE *pbRequest;
} OperationRequest;

typedef struct {
  DWORD cbResponse;
  BYTE *pbResponse;
} OperationResponse;

typedef struct {
  GUID transactionId;
  DWORD cbSignature;
  BYTE *pbSignature;
} CancelRequest;

typedef struct IPluginAuthenticator IPluginAuthenticator;
typedef struct {
  HRESULT(STDMETHODCALLTYPE *QueryInterface)(IPluginAuthenticator *, REFIID, void **);
  ULONG(STDMETHODCALLTYPE *AddRef)(IPluginAuthenticator *);
  ULONG(STDMETHODCALLTYPE *Release)(IPluginAuthenticator *);
  HRESULT(STDMETHODCALLTYPE *MakeCredential)(IPluginAuthenticator *, const OperationRequest *, OperationResponse *);
  HRESULT(STDMETHODCALLTYPE *GetAssertion)(IPluginAuthenticator *, const OperationRequest *, OperationResponse *);
  HRESULT(STDMETHODCALLTYPE *CancelOperation)(IPluginAuthenticator *, const CancelRequest *);
  HRESULT(STDMETHODCALLTYPE *GetLockStatus)(IPluginAuthenticator *, int *);
} IPluginAuthenticatorVtbl;
struct IPluginAuthenticator {
  const IPluginAuthenticatorVtbl *lpVtbl;
};

static const GUID IID_PluginAuthenticator = {0xd26bcf6f, 0xb54c, 0x43ff, {0x9f, 0x06, 0xd5, 0xbf, 0x14, 0x86, 0x25, 0xf7}};

/* ---- State ---- */

typedef void(WINAPI *StatusCallback)(void *);

#define MAX_CREDENTIALS 64
#define MAX_TRANSACTIONS 32
#define MAX_CALLBACKS 8

typedef struct {
  BYTE *id;
  DWORD cbId;
  WCHAR *rpId, *rpName, *userName, *userDisplayName;
  BYTE *userId;
  DWORD cbUserId;
} CachedCredential;

static CRITICAL_SECTION lock;
static INIT_ONCE initOnce = INIT_ONCE_STATIC_INIT;
static BOOL registered;
static GUID registeredClsid;
static int enabled;
static BCRYPT_KEY_HANDLE opKey, uvKey;
static CachedCredential cache[MAX_CREDENTIALS];
static int cacheCount;
static struct {
  GUID id;
  BYTE *request;
  DWORD cbRequest;
} transactions[MAX_TRANSACTIONS];
static int nextTransaction;
static struct {
  StatusCallback fn;
  void *context;
  DWORD cookie;
} callbacks[MAX_CALLBACKS];
static DWORD nextCookie = 1;
static volatile LONG uvMode; /* 0 accept, 1 decline, 2 slow */
static volatile LONG uvDelayMs = 5000;
static volatile LONG outstanding; /* buffers handed out and not yet freed */

enum { KEY_ECDSA, KEY_RSA_PKCS1, KEY_RSA_PSS };

static BYTE *copyBytes(const BYTE *b, DWORD n);

static BOOL CALLBACK initialise(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  InitializeCriticalSection(&lock);
  return TRUE;
}

static void enter(void) {
  InitOnceExecuteOnce(&initOnce, initialise, NULL, NULL);
  EnterCriticalSection(&lock);
}
static void leave(void) { LeaveCriticalSection(&lock); }

static int keyKind(void) {
  const char *kind = getenv("LATCHKEY_DOUBLE_KEY");
  if (kind != NULL && strcmp(kind, "rsa-pkcs1") == 0) return KEY_RSA_PKCS1;
  if (kind != NULL && strcmp(kind, "rsa-pss") == 0) return KEY_RSA_PSS;
  return KEY_ECDSA;
}

static BOOL v2NotImplemented(void) {
  const char *v2 = getenv("LATCHKEY_DOUBLE_V2");
  return v2 != NULL && strcmp(v2, "notimpl") == 0;
}

/* ---- JSON log ---- */

typedef struct {
  char *text;
  size_t length, capacity;
} Json;

static void jsonRaw(Json *j, const char *s, size_t n) {
  if (j->length + n + 1 > j->capacity) {
    size_t capacity = (j->capacity + n + 1) * 2;
    char *grown = (char *)realloc(j->text, capacity);
    if (grown == NULL) return;
    j->text = grown;
    j->capacity = capacity;
  }
  memcpy(j->text + j->length, s, n);
  j->length += n;
  j->text[j->length] = 0;
}
static void jsonText(Json *j, const char *s) { jsonRaw(j, s, strlen(s)); }

static void jsonKey(Json *j, const char *key) {
  jsonText(j, j->length > 1 ? ",\"" : "\"");
  jsonText(j, key);
  jsonText(j, "\":");
}

static void jsonUtf8(Json *j, const char *key, const char *s) {
  jsonKey(j, key);
  jsonText(j, "\"");
  for (; *s; s++) {
    char escaped[8];
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      snprintf(escaped, sizeof escaped, "\\%c", c);
    } else if (c < 0x20) {
      snprintf(escaped, sizeof escaped, "\\u%04x", c);
    } else {
      escaped[0] = (char)c, escaped[1] = 0;
    }
    jsonText(j, escaped);
  }
  jsonText(j, "\"");
}

static void jsonWide(Json *j, const char *key, LPCWSTR s) {
  if (s == NULL) {
    jsonKey(j, key);
    jsonText(j, "null");
    return;
  }
  int n = WideCharToMultiByte(CP_UTF8, 0, s, -1, NULL, 0, NULL, NULL);
  char *utf8 = (char *)malloc((size_t)n + 1);
  if (utf8 == NULL) return;
  WideCharToMultiByte(CP_UTF8, 0, s, -1, utf8, n, NULL, NULL);
  jsonUtf8(j, key, utf8);
  free(utf8);
}

static void jsonHex(Json *j, const char *key, const BYTE *bytes, DWORD n) {
  jsonKey(j, key);
  if (bytes == NULL && n > 0) {
    jsonText(j, "null");
    return;
  }
  jsonText(j, "\"");
  for (DWORD i = 0; i < n; i++) {
    char pair[3];
    snprintf(pair, sizeof pair, "%02x", bytes[i]);
    jsonRaw(j, pair, 2);
  }
  jsonText(j, "\"");
}

static void jsonNumber(Json *j, const char *key, double value) {
  char number[40];
  snprintf(number, sizeof number, "%.0f", value);
  jsonKey(j, key);
  jsonText(j, number);
}

/** GUIDs as Windows' own StringFromGUID2 prints them (lower case, no braces): an oracle for the addon's. */
static void jsonGuid(Json *j, const char *key, const GUID *g) {
  WCHAR wide[40];
  char text[40];
  if (g == NULL || StringFromGUID2(g, wide, 40) != 39) {
    jsonKey(j, key);
    jsonText(j, "null");
    return;
  }
  for (int i = 0; i < 36; i++) text[i] = (char)tolower((unsigned char)wide[i + 1]);
  text[36] = 0;
  jsonUtf8(j, key, text);
}

static Json logStart(const char *fn) {
  Json j = {NULL, 0, 0};
  jsonText(&j, "{");
  jsonUtf8(&j, "fn", fn);
  return j;
}

static void logEnd(Json *j, HRESULT hr) {
  jsonNumber(j, "hresult", (double)(unsigned long)hr);
  jsonText(j, "}\n");
  const char *path = getenv("LATCHKEY_DOUBLE_LOG");
  if (path != NULL && j->text != NULL) {
    enter();
    FILE *file = fopen(path, "ab");
    if (file != NULL) {
      fwrite(j->text, 1, j->length, file);
      fclose(file);
    }
    leave();
  }
  free(j->text);
}

/* ---- CNG ---- */

static void *handOut(size_t n) {
  void *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, n == 0 ? 1 : n);
  if (p != NULL) InterlockedIncrement(&outstanding);
  return p;
}
static void takeBack(void *p) {
  if (p == NULL) return;
  InterlockedDecrement(&outstanding);
  HeapFree(GetProcessHeap(), 0, p);
}

static BCRYPT_KEY_HANDLE newKey(void) {
  BCRYPT_ALG_HANDLE alg = NULL;
  BCRYPT_KEY_HANDLE key = NULL;
  BOOL ecdsa = keyKind() == KEY_ECDSA;
  if (BCryptOpenAlgorithmProvider(&alg, ecdsa ? BCRYPT_ECDSA_P256_ALGORITHM : BCRYPT_RSA_ALGORITHM, NULL, 0) != 0) return NULL;
  if (BCryptGenerateKeyPair(alg, &key, ecdsa ? 256 : 2048, 0) != 0 || BCryptFinalizeKeyPair(key, 0) != 0) key = NULL;
  BCryptCloseAlgorithmProvider(alg, 0);
  return key;
}

/** The public key as Windows hands it out: a CNG public blob (ECS1 or RSA1). */
static HRESULT exportPublic(BCRYPT_KEY_HANDLE key, DWORD *cb, BYTE **pb) {
  LPCWSTR type = keyKind() == KEY_ECDSA ? BCRYPT_ECCPUBLIC_BLOB : BCRYPT_RSAPUBLIC_BLOB;
  ULONG size = 0;
  if (key == NULL || BCryptExportKey(key, NULL, type, NULL, 0, &size, 0) != 0) return E_FAIL;
  BYTE *blob = (BYTE *)handOut(size);
  if (blob == NULL) return E_OUTOFMEMORY;
  if (BCryptExportKey(key, NULL, type, blob, size, &size, 0) != 0) {
    takeBack(blob);
    return E_FAIL;
  }
  *cb = size;
  *pb = blob;
  return S_OK;
}

static BOOL sha256(const BYTE *data, DWORD n, BYTE digest[32]) {
  BCRYPT_ALG_HANDLE alg = NULL;
  BCRYPT_HASH_HANDLE hash = NULL;
  BOOL ok = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, 0) == 0 &&
            BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0) == 0 && BCryptHashData(hash, (PUCHAR)data, n, 0) == 0 &&
            BCryptFinishHash(hash, digest, 32, 0) == 0;
  if (hash != NULL) BCryptDestroyHash(hash);
  if (alg != NULL) BCryptCloseAlgorithmProvider(alg, 0);
  return ok;
}

/** Signs a 32-byte digest as Windows does for this key kind; the signature is handOut()'d. */
static HRESULT signDigest(BCRYPT_KEY_HANDLE key, const BYTE digest[32], DWORD *cb, BYTE **pb) {
  BCRYPT_PKCS1_PADDING_INFO pkcs1 = {BCRYPT_SHA256_ALGORITHM};
  BCRYPT_PSS_PADDING_INFO pss = {BCRYPT_SHA256_ALGORITHM, 32};
  void *padding = NULL;
  ULONG flags = 0;
  switch (keyKind()) {
    case KEY_RSA_PKCS1: padding = &pkcs1, flags = BCRYPT_PAD_PKCS1; break;
    case KEY_RSA_PSS: padding = &pss, flags = BCRYPT_PAD_PSS; break;
    default: break;
  }
  ULONG size = 0;
  if (key == NULL || BCryptSignHash(key, padding, (PUCHAR)digest, 32, NULL, 0, &size, flags) != 0) return NTE_BAD_KEY;
  /* Wine 8 answers the size query for ECDSA P-256 with 32 (the key size), not 64: leave room. */
  if (size < 512) size = 512;
  BYTE *signature = (BYTE *)handOut(size);
  if (signature == NULL) return E_OUTOFMEMORY;
  NTSTATUS status = BCryptSignHash(key, padding, (PUCHAR)digest, 32, signature, size, &size, flags);
  if (status != 0) {
    takeBack(signature);
    return NTE_BAD_KEY;
  }
  *cb = size;
  *pb = signature;
  return S_OK;
}

static HRESULT signBytes(BCRYPT_KEY_HANDLE key, const BYTE *data, DWORD n, DWORD *cb, BYTE **pb) {
  BYTE digest[32];
  if (!sha256(data, n, digest)) return E_FAIL;
  return signDigest(key, digest, cb, pb);
}

static BOOL ourClsid(const GUID *clsid) { return registered && clsid != NULL && IsEqualGUID(clsid, &registeredClsid); }

/* ---- Registration ---- */

static void logOptions(Json *j, const AddOptions *o, int version) {
  jsonNumber(j, "version", version);
  if (o == NULL) return;
  jsonWide(j, "name", o->name);
  jsonGuid(j, "clsid", o->clsid);
  jsonWide(j, "pluginRpId", o->pluginRpId);
  jsonWide(j, "lightThemeLogoSvg", o->lightLogo);
  jsonWide(j, "darkThemeLogoSvg", o->darkLogo);
  jsonHex(j, "authenticatorInfo", o->pbInfo, o->cbInfo);
  jsonNumber(j, "supportedRpIds", o->cRpIds);
  if (version == 2) jsonWide(j, "userVerificationKeyName", o->uvKeyName);
}

static HRESULT addAuthenticator(const char *fn, const AddOptions *o, AddResponse **out, int version) {
  Json j = logStart(fn);
  logOptions(&j, o, version);
  HRESULT hr = S_OK;
  if (out != NULL) *out = NULL;
  if (o == NULL || out == NULL || o->clsid == NULL || o->name == NULL || (o->cbInfo > 0 && o->pbInfo == NULL)) {
    hr = E_INVALIDARG;
  } else {
    enter();
    if (registered) {
      hr = NTE_EXISTS;
    } else {
      /* A new registration gets a new operation-signing key (remove + add rotates it). */
      if (opKey != NULL) BCryptDestroyKey(opKey);
      opKey = newKey();
      if (opKey == NULL) {
        hr = NTE_BAD_KEY;
      } else {
        AddResponse *response = (AddResponse *)handOut(sizeof *response);
        hr = response == NULL ? E_OUTOFMEMORY : exportPublic(opKey, &response->cbKey, &response->pbKey);
        if (SUCCEEDED(hr)) {
          registered = TRUE;
          registeredClsid = *o->clsid;
          enabled = 0; /* Windows starts a new plugin disabled */
          *out = response;
        } else {
          takeBack(response);
        }
      }
    }
    leave();
  }
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginAddAuthenticator(const AddOptions *options, AddResponse **response) {
  /* v1 has no uvKeyName: copy the v1 part so the v2 field is never read. */
  AddOptions v1;
  if (options != NULL) {
    memcpy(&v1, options, offsetof(AddOptions, uvKeyName));
    v1.uvKeyName = NULL;
  }
  return addAuthenticator("WebAuthNPluginAddAuthenticator", options == NULL ? NULL : &v1, response, 1);
}

EXPORT HRESULT WINAPI WebAuthNPluginAddAuthenticator2(const AddOptions *options, AddResponse **response) {
  if (v2NotImplemented()) {
    Json j = logStart("WebAuthNPluginAddAuthenticator2");
    logEnd(&j, E_NOTIMPL);
    return E_NOTIMPL;
  }
  return addAuthenticator("WebAuthNPluginAddAuthenticator2", options, response, 2);
}

EXPORT void WINAPI WebAuthNPluginFreeAddAuthenticatorResponse(AddResponse *response) {
  Json j = logStart("WebAuthNPluginFreeAddAuthenticatorResponse");
  if (response != NULL) takeBack(response->pbKey);
  takeBack(response);
  logEnd(&j, S_OK);
}

EXPORT HRESULT WINAPI WebAuthNPluginRemoveAuthenticator(const GUID *clsid) {
  Json j = logStart("WebAuthNPluginRemoveAuthenticator");
  jsonGuid(&j, "clsid", clsid);
  enter();
  HRESULT hr = ourClsid(clsid) ? S_OK : NTE_NOT_FOUND;
  if (SUCCEEDED(hr)) registered = FALSE;
  leave();
  logEnd(&j, hr);
  return hr;
}

static HRESULT updateDetails(const char *fn, const UpdateDetails *d, int version) {
  Json j = logStart(fn);
  jsonNumber(&j, "version", version);
  HRESULT hr = E_INVALIDARG;
  if (d != NULL) {
    jsonWide(&j, "name", d->name);
    jsonGuid(&j, "clsid", d->clsid);
    jsonGuid(&j, "clsidNew", d->clsidNew);
    jsonWide(&j, "lightThemeLogoSvg", d->lightLogo);
    jsonWide(&j, "darkThemeLogoSvg", d->darkLogo);
    jsonHex(&j, "authenticatorInfo", d->pbInfo, d->cbInfo);
    if (version == 2) jsonWide(&j, "userVerificationKeyName", d->uvKeyName);
    enter();
    hr = !ourClsid(d->clsid) ? NTE_NOT_FOUND : d->clsidNew == NULL ? E_INVALIDARG : S_OK;
    if (SUCCEEDED(hr)) registeredClsid = *d->clsidNew; /* the key is kept */
    leave();
  }
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginUpdateAuthenticatorDetails(const UpdateDetails *details) {
  UpdateDetails v1;
  if (details != NULL) {
    memcpy(&v1, details, offsetof(UpdateDetails, uvKeyName));
    v1.uvKeyName = NULL;
  }
  return updateDetails("WebAuthNPluginUpdateAuthenticatorDetails", details == NULL ? NULL : &v1, 1);
}

EXPORT HRESULT WINAPI WebAuthNPluginUpdateAuthenticatorDetails2(const UpdateDetails *details) {
  if (v2NotImplemented()) {
    Json j = logStart("WebAuthNPluginUpdateAuthenticatorDetails2");
    logEnd(&j, E_NOTIMPL);
    return E_NOTIMPL;
  }
  return updateDetails("WebAuthNPluginUpdateAuthenticatorDetails2", details, 2);
}

EXPORT HRESULT WINAPI WebAuthNPluginGetAuthenticatorState(const GUID *clsid, int *state) {
  Json j = logStart("WebAuthNPluginGetAuthenticatorState");
  jsonGuid(&j, "clsid", clsid);
  enter();
  HRESULT hr = state == NULL ? E_INVALIDARG : ourClsid(clsid) ? S_OK : NTE_NOT_FOUND;
  if (SUCCEEDED(hr)) *state = enabled;
  leave();
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginRegisterStatusChangeCallback(StatusCallback fn, void *context, const GUID *clsid, DWORD *cookie) {
  Json j = logStart("WebAuthNPluginRegisterStatusChangeCallback");
  jsonGuid(&j, "clsid", clsid);
  HRESULT hr = fn == NULL || cookie == NULL ? E_INVALIDARG : E_OUTOFMEMORY;
  enter();
  for (int i = 0; hr == E_OUTOFMEMORY && i < MAX_CALLBACKS; i++) {
    if (callbacks[i].fn == NULL) {
      callbacks[i].fn = fn;
      callbacks[i].context = context;
      callbacks[i].cookie = *cookie = nextCookie++;
      hr = S_OK;
    }
  }
  leave();
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginUnregisterStatusChangeCallback(DWORD *cookie) {
  Json j = logStart("WebAuthNPluginUnregisterStatusChangeCallback");
  HRESULT hr = cookie == NULL ? E_INVALIDARG : NTE_NOT_FOUND;
  enter();
  for (int i = 0; cookie != NULL && i < MAX_CALLBACKS; i++) {
    if (callbacks[i].fn != NULL && callbacks[i].cookie == *cookie) {
      callbacks[i].fn = NULL;
      hr = S_OK;
    }
  }
  leave();
  logEnd(&j, hr);
  return hr;
}

/* ---- Keys and user verification ---- */

static HRESULT publicKey(const char *fn, const GUID *clsid, BOOL uv, DWORD *cb, BYTE **pb) {
  Json j = logStart(fn);
  jsonGuid(&j, "clsid", clsid);
  HRESULT hr = cb == NULL || pb == NULL ? E_INVALIDARG : S_OK;
  enter();
  if (SUCCEEDED(hr) && !ourClsid(clsid)) hr = NTE_NOT_FOUND;
  if (SUCCEEDED(hr) && uv && uvKey == NULL) uvKey = newKey();
  if (SUCCEEDED(hr)) hr = exportPublic(uv ? uvKey : opKey, cb, pb);
  leave();
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginGetOperationSigningPublicKey(const GUID *clsid, DWORD *cb, BYTE **pb) {
  return publicKey("WebAuthNPluginGetOperationSigningPublicKey", clsid, FALSE, cb, pb);
}

EXPORT HRESULT WINAPI WebAuthNPluginGetUserVerificationPublicKey(const GUID *clsid, DWORD *cb, BYTE **pb) {
  return publicKey("WebAuthNPluginGetUserVerificationPublicKey", clsid, TRUE, cb, pb);
}

EXPORT void WINAPI WebAuthNPluginFreePublicKeyResponse(BYTE *key) {
  Json j = logStart("WebAuthNPluginFreePublicKeyResponse");
  takeBack(key);
  logEnd(&j, S_OK);
}

static HRESULT performUv(const char *fn, const UvRequest *r, int version, DWORD *cb, BYTE **pb) {
  Json j = logStart(fn);
  jsonNumber(&j, "version", version);
  HRESULT hr = r == NULL || cb == NULL || pb == NULL || r->transactionId == NULL ? E_INVALIDARG : S_OK;
  if (r != NULL) {
    jsonNumber(&j, "hwnd", (double)(ULONG_PTR)r->hwnd);
    jsonGuid(&j, "transactionId", r->transactionId);
    jsonWide(&j, "userName", r->userName);
    jsonWide(&j, "displayHint", r->displayHint);
    if (version == 2) jsonHex(&j, "bufferToSign", r->pbBuffer, r->cbBuffer);
  }
  /* UV belongs to an operation in flight: find the request its transaction carried. */
  BYTE *request = NULL;
  DWORD cbRequest = 0;
  if (SUCCEEDED(hr)) {
    *cb = 0, *pb = NULL;
    enter();
    hr = NTE_NOT_FOUND;
    for (int i = 0; i < MAX_TRANSACTIONS; i++) {
      if (transactions[i].request != NULL && IsEqualGUID(&transactions[i].id, r->transactionId)) {
        request = copyBytes(transactions[i].request, transactions[i].cbRequest);
        cbRequest = transactions[i].cbRequest;
        hr = request == NULL ? E_OUTOFMEMORY : S_OK;
        break;
      }
    }
    leave();
  }
  if (SUCCEEDED(hr)) {
    LONG mode = uvMode;
    jsonUtf8(&j, "mode", mode == 0 ? "accept" : mode == 1 ? "decline" : "slow");
    if (mode == 2) Sleep((DWORD)uvDelayMs);
    if (mode == 1) hr = NTE_USER_CANCELLED;
  }
  if (SUCCEEDED(hr)) {
    enter();
    if (uvKey == NULL) uvKey = newKey();
    if (version == 2 && r->cbBuffer > 0) {
      /* v2 signs the caller's buffer as given (a digest), without hashing. */
      hr = r->cbBuffer == 32 && r->pbBuffer != NULL ? signDigest(uvKey, r->pbBuffer, cb, pb) : E_INVALIDARG;
    } else {
      hr = signBytes(uvKey, request, cbRequest, cb, pb);
    }
    leave();
  }
  free(request);
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginPerformUserVerification(const UvRequest *request, DWORD *cb, BYTE **pb) {
  UvRequest v1;
  if (request != NULL) {
    memcpy(&v1, request, offsetof(UvRequest, cbBuffer));
    v1.cbBuffer = 0, v1.pbBuffer = NULL;
  }
  return performUv("WebAuthNPluginPerformUserVerification", request == NULL ? NULL : &v1, 1, cb, pb);
}

EXPORT HRESULT WINAPI WebAuthNPluginPerformUserVerification2(const UvRequest *request, DWORD *cb, BYTE **pb) {
  if (v2NotImplemented()) {
    Json j = logStart("WebAuthNPluginPerformUserVerification2");
    logEnd(&j, E_NOTIMPL);
    return E_NOTIMPL;
  }
  return performUv("WebAuthNPluginPerformUserVerification2", request, 2, cb, pb);
}

EXPORT void WINAPI WebAuthNPluginFreeUserVerificationResponse(BYTE *response) {
  Json j = logStart("WebAuthNPluginFreeUserVerificationResponse");
  takeBack(response);
  logEnd(&j, S_OK);
}

/* ---- Credential metadata cache ---- */

static WCHAR *copyWide(LPCWSTR s) {
  size_t n = s == NULL ? 0 : wcslen(s);
  WCHAR *copy = (WCHAR *)calloc(n + 1, sizeof(WCHAR));
  if (copy != NULL && n > 0) memcpy(copy, s, n * sizeof(WCHAR));
  return copy;
}
static BYTE *copyBytes(const BYTE *b, DWORD n) {
  BYTE *copy = (BYTE *)malloc(n == 0 ? 1 : n);
  if (copy != NULL && n > 0) memcpy(copy, b, n);
  return copy;
}
static void dropCached(int i) {
  CachedCredential *c = &cache[i];
  free(c->id), free(c->rpId), free(c->rpName), free(c->userName), free(c->userDisplayName), free(c->userId);
  cache[i] = cache[--cacheCount];
}
static int findCached(const BYTE *id, DWORD n) {
  for (int i = 0; i < cacheCount; i++) {
    if (cache[i].cbId == n && memcmp(cache[i].id, id, n) == 0) return i;
  }
  return -1;
}

static void logCredentials(Json *j, DWORD count, const CredentialDetails *d) {
  jsonKey(j, "credentials");
  jsonText(j, "[");
  for (DWORD i = 0; d != NULL && i < count; i++) {
    Json item = {NULL, 0, 0};
    jsonText(&item, "{");
    jsonHex(&item, "credentialId", d[i].pbId, d[i].cbId);
    jsonWide(&item, "rpId", d[i].rpId);
    jsonWide(&item, "rpName", d[i].rpName);
    jsonHex(&item, "userId", d[i].pbUserId, d[i].cbUserId);
    jsonWide(&item, "userName", d[i].userName);
    jsonWide(&item, "userDisplayName", d[i].userDisplayName);
    jsonText(&item, "}");
    if (i > 0) jsonText(j, ",");
    if (item.text != NULL) jsonText(j, item.text);
    free(item.text);
  }
  jsonText(j, "]");
}

static HRESULT changeCredentials(const char *fn, const GUID *clsid, DWORD count, const CredentialDetails *d, BOOL add) {
  Json j = logStart(fn);
  jsonGuid(&j, "clsid", clsid);
  logCredentials(&j, count, d);
  enter();
  HRESULT hr = !ourClsid(clsid) ? NTE_NOT_FOUND : (count > 0 && d == NULL) ? E_INVALIDARG : S_OK;
  for (DWORD i = 0; SUCCEEDED(hr) && i < count; i++) {
    if (d[i].pbId == NULL || d[i].cbId == 0 || (add && (d[i].rpId == NULL || d[i].rpName == NULL || d[i].pbUserId == NULL))) {
      hr = E_INVALIDARG;
      break;
    }
    int at = findCached(d[i].pbId, d[i].cbId);
    if (at >= 0) dropCached(at);
    if (!add) continue;
    if (cacheCount == MAX_CREDENTIALS) {
      hr = NTE_NO_MEMORY;
      break;
    }
    CachedCredential *c = &cache[cacheCount++];
    c->id = copyBytes(d[i].pbId, d[i].cbId), c->cbId = d[i].cbId;
    c->userId = copyBytes(d[i].pbUserId, d[i].cbUserId), c->cbUserId = d[i].cbUserId;
    c->rpId = copyWide(d[i].rpId), c->rpName = copyWide(d[i].rpName);
    c->userName = copyWide(d[i].userName), c->userDisplayName = copyWide(d[i].userDisplayName);
  }
  leave();
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI WebAuthNPluginAuthenticatorAddCredentials(const GUID *clsid, DWORD count, const CredentialDetails *d) {
  return changeCredentials("WebAuthNPluginAuthenticatorAddCredentials", clsid, count, d, TRUE);
}

EXPORT HRESULT WINAPI WebAuthNPluginAuthenticatorRemoveCredentials(const GUID *clsid, DWORD count, const CredentialDetails *d) {
  return changeCredentials("WebAuthNPluginAuthenticatorRemoveCredentials", clsid, count, d, FALSE);
}

EXPORT HRESULT WINAPI WebAuthNPluginAuthenticatorRemoveAllCredentials(const GUID *clsid) {
  Json j = logStart("WebAuthNPluginAuthenticatorRemoveAllCredentials");
  jsonGuid(&j, "clsid", clsid);
  enter();
  HRESULT hr = ourClsid(clsid) ? S_OK : NTE_NOT_FOUND;
  while (SUCCEEDED(hr) && cacheCount > 0) dropCached(0);
  leave();
  logEnd(&j, hr);
  return hr;
}

static void *handOutCopy(const void *source, size_t n) {
  void *copy = handOut(n);
  if (copy != NULL && n > 0) memcpy(copy, source, n);
  return copy;
}

EXPORT HRESULT WINAPI WebAuthNPluginAuthenticatorGetAllCredentials(const GUID *clsid, DWORD *count, CredentialDetails **out) {
  Json j = logStart("WebAuthNPluginAuthenticatorGetAllCredentials");
  jsonGuid(&j, "clsid", clsid);
  HRESULT hr = count == NULL || out == NULL ? E_INVALIDARG : S_OK;
  enter();
  if (SUCCEEDED(hr)) *count = 0, *out = NULL;
  if (SUCCEEDED(hr) && !ourClsid(clsid)) hr = NTE_NOT_FOUND;
  /* An empty cache answers ERROR_FILE_NOT_FOUND, as Windows does. */
  if (SUCCEEDED(hr) && cacheCount == 0) hr = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
  if (SUCCEEDED(hr)) {
    CredentialDetails *array = (CredentialDetails *)handOut(sizeof(CredentialDetails) * (size_t)cacheCount);
    for (int i = 0; array != NULL && i < cacheCount; i++) {
      CachedCredential *c = &cache[i];
      array[i].cbId = c->cbId, array[i].pbId = (const BYTE *)handOutCopy(c->id, c->cbId);
      array[i].cbUserId = c->cbUserId, array[i].pbUserId = (const BYTE *)handOutCopy(c->userId, c->cbUserId);
      array[i].rpId = (LPCWSTR)handOutCopy(c->rpId, (wcslen(c->rpId) + 1) * sizeof(WCHAR));
      array[i].rpName = (LPCWSTR)handOutCopy(c->rpName, (wcslen(c->rpName) + 1) * sizeof(WCHAR));
      array[i].userName = (LPCWSTR)handOutCopy(c->userName, (wcslen(c->userName) + 1) * sizeof(WCHAR));
      array[i].userDisplayName = (LPCWSTR)handOutCopy(c->userDisplayName, (wcslen(c->userDisplayName) + 1) * sizeof(WCHAR));
    }
    if (array == NULL) {
      hr = E_OUTOFMEMORY;
    } else {
      *count = (DWORD)cacheCount, *out = array;
    }
    jsonNumber(&j, "count", cacheCount);
  }
  leave();
  logEnd(&j, hr);
  return hr;
}

EXPORT void WINAPI WebAuthNPluginAuthenticatorFreeCredentialDetailsArray(DWORD count, CredentialDetails *array) {
  Json j = logStart("WebAuthNPluginAuthenticatorFreeCredentialDetailsArray");
  jsonNumber(&j, "count", count);
  for (DWORD i = 0; array != NULL && i < count; i++) {
    takeBack((void *)array[i].pbId), takeBack((void *)array[i].pbUserId);
    takeBack((void *)array[i].rpId), takeBack((void *)array[i].rpName);
    takeBack((void *)array[i].userName), takeBack((void *)array[i].userDisplayName);
  }
  takeBack(array);
  logEnd(&j, S_OK);
}

/* ---- Test-only: Windows' side of an operation ---- */

enum { SIGN_VALID = 0, SIGN_FORGED = 1, SIGN_MISSING = 2, SIGN_OTHER_BYTES = 3 };

static void rememberTransaction(const GUID *id, const BYTE *request, DWORD n) {
  enter();
  int slot = nextTransaction++ % MAX_TRANSACTIONS;
  free(transactions[slot].request);
  transactions[slot].id = *id;
  transactions[slot].request = copyBytes(request, n);
  transactions[slot].cbRequest = n;
  leave();
}

/** Activates the registered CLSID through COM; *out is the object Latchkey's class factory made. */
static HRESULT activate(IPluginAuthenticator **out, BOOL *uninitialize) {
  *out = NULL;
  HRESULT init = CoInitializeEx(NULL, COINIT_MULTITHREADED);
  *uninitialize = SUCCEEDED(init);
  enter();
  GUID clsid = registeredClsid;
  BOOL known = registered;
  leave();
  if (!known) return REGDB_E_CLASSNOTREG;
  IClassFactory *factory = NULL;
  HRESULT hr = CoGetClassObject(&clsid, CLSCTX_LOCAL_SERVER, NULL, &IID_IClassFactory, (void **)&factory);
  if (FAILED(hr)) return hr;
  hr = IClassFactory_CreateInstance(factory, NULL, &IID_PluginAuthenticator, (void **)out);
  IClassFactory_Release(factory);
  return hr;
}

EXPORT HRESULT WINAPI DoubleInvokeOperation(int getAssertion, ULONGLONG hwnd, const GUID *transactionId, const BYTE *request,
                                            DWORD cbRequest, int signatureMode, DWORD *cbResponse, BYTE **pbResponse) {
  Json j = logStart(getAssertion ? "IPluginAuthenticator::GetAssertion" : "IPluginAuthenticator::MakeCredential");
  jsonGuid(&j, "transactionId", transactionId);
  jsonNumber(&j, "signatureMode", signatureMode);
  jsonHex(&j, "request", request, cbRequest);
  *cbResponse = 0, *pbResponse = NULL;
  rememberTransaction(transactionId, request, cbRequest);

  DWORD cbSignature = 0;
  BYTE *signature = NULL;
  HRESULT hr = S_OK;
  if (signatureMode != SIGN_MISSING) {
    static const BYTE other[] = {0xa0};
    enter();
    hr = signatureMode == SIGN_OTHER_BYTES ? signBytes(opKey, other, sizeof other, &cbSignature, &signature)
                                           : signBytes(opKey, request, cbRequest, &cbSignature, &signature);
    leave();
    if (SUCCEEDED(hr) && signatureMode == SIGN_FORGED) signature[cbSignature / 2] ^= 0x01;
  }

  IPluginAuthenticator *plugin = NULL;
  BOOL uninitialize = FALSE;
  if (SUCCEEDED(hr)) hr = activate(&plugin, &uninitialize);
  if (SUCCEEDED(hr)) {
    OperationRequest call = {(HWND)(ULONG_PTR)hwnd, *transactionId, cbSignature, signature, 1, cbRequest, (BYTE *)request};
    OperationResponse response = {0, NULL};
    hr = getAssertion ? plugin->lpVtbl->GetAssertion(plugin, &call, &response)
                      : plugin->lpVtbl->MakeCredential(plugin, &call, &response);
    jsonHex(&j, "response", response.pbResponse, response.cbResponse);
    if (response.pbResponse != NULL) {
      *pbResponse = (BYTE *)handOutCopy(response.pbResponse, response.cbResponse);
      *cbResponse = response.cbResponse;
      CoTaskMemFree(response.pbResponse); /* as the COM stub would */
    }
    plugin->lpVtbl->Release(plugin);
  }
  if (uninitialize) CoUninitialize();
  takeBack(signature);
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI DoubleCancelOperation(const GUID *transactionId) {
  Json j = logStart("IPluginAuthenticator::CancelOperation");
  jsonGuid(&j, "transactionId", transactionId);
  IPluginAuthenticator *plugin = NULL;
  BOOL uninitialize = FALSE;
  HRESULT hr = activate(&plugin, &uninitialize);
  if (SUCCEEDED(hr)) {
    /* What the cancel signature covers is undocumented; this double signs the GUID's 16 bytes. */
    DWORD cbSignature = 0;
    BYTE *signature = NULL;
    enter();
    signBytes(opKey, (const BYTE *)transactionId, sizeof(GUID), &cbSignature, &signature);
    leave();
    CancelRequest call = {*transactionId, cbSignature, signature};
    hr = plugin->lpVtbl->CancelOperation(plugin, &call);
    takeBack(signature);
    plugin->lpVtbl->Release(plugin);
  }
  if (uninitialize) CoUninitialize();
  logEnd(&j, hr);
  return hr;
}

EXPORT HRESULT WINAPI DoubleGetLockStatus(int *status) {
  Json j = logStart("IPluginAuthenticator::GetLockStatus");
  IPluginAuthenticator *plugin = NULL;
  BOOL uninitialize = FALSE;
  HRESULT hr = activate(&plugin, &uninitialize);
  if (SUCCEEDED(hr)) {
    hr = plugin->lpVtbl->GetLockStatus(plugin, status);
    plugin->lpVtbl->Release(plugin);
    if (SUCCEEDED(hr)) jsonNumber(&j, "status", *status);
  }
  if (uninitialize) CoUninitialize();
  logEnd(&j, hr);
  return hr;
}

EXPORT void WINAPI DoubleSetUserVerification(int mode, DWORD delayMs) {
  InterlockedExchange(&uvMode, mode);
  InterlockedExchange(&uvDelayMs, (LONG)delayMs);
}

static DWORD WINAPI fireStatusCallbacks(LPVOID unused) {
  (void)unused;
  StatusCallback fns[MAX_CALLBACKS];
  void *contexts[MAX_CALLBACKS];
  int n = 0;
  enter();
  for (int i = 0; i < MAX_CALLBACKS; i++) {
    if (callbacks[i].fn != NULL) fns[n] = callbacks[i].fn, contexts[n++] = callbacks[i].context;
  }
  leave();
  for (int i = 0; i < n; i++) fns[i](contexts[i]);
  return 0;
}

/** The user flips the switch in Settings: the state changes and callbacks fire on a thread of Windows'. */
EXPORT HRESULT WINAPI DoubleSetAuthenticatorState(int state) {
  enter();
  HRESULT hr = registered ? S_OK : NTE_NOT_FOUND;
  if (SUCCEEDED(hr)) enabled = state;
  leave();
  if (SUCCEEDED(hr)) {
    HANDLE thread = CreateThread(NULL, 0, fireStatusCallbacks, NULL, 0, NULL);
    if (thread == NULL) return HRESULT_FROM_WIN32(GetLastError());
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
  }
  return hr;
}

/** Buffers handed out by the double and not yet given back through a Free function. */
EXPORT LONG WINAPI DoubleOutstandingBuffers(void) { return outstanding; }

EXPORT void WINAPI DoubleFree(void *p) { takeBack(p); }

#endif /* DOUBLE_WITHOUT_PLUGIN_API */
