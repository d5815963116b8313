// Test-only N-API helper that lets a Wine-side test script drive the webauthn.dll double: it plays
// the WebAuthn service's calls into Latchkey's COM object. Calls that go through COM run on a thread
// of their own (as Windows' RPC threads would), never on the JS thread, and settle a Promise.
#include <windows.h>

#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "convert.h"  // native/src: the addon's own GUID and argument helpers

namespace {

using InvokeFn = HRESULT(WINAPI*)(int, ULONGLONG, const GUID*, const BYTE*, DWORD, int, DWORD*, BYTE**);
using CancelFn = HRESULT(WINAPI*)(const GUID*);
using LockStatusFn = HRESULT(WINAPI*)(int*);
using SetUvFn = void(WINAPI*)(int, DWORD);
using SetStateFn = HRESULT(WINAPI*)(int);
using OutstandingFn = LONG(WINAPI*)();
using FreeFn = void(WINAPI*)(void*);

struct Double {
  InvokeFn invoke = nullptr;
  CancelFn cancel = nullptr;
  LockStatusFn lockStatus = nullptr;
  SetUvFn setUserVerification = nullptr;
  SetStateFn setState = nullptr;
  OutstandingFn outstanding = nullptr;
  FreeFn free = nullptr;
};

template <typename Fn>
void resolve(Napi::Env env, HMODULE module, const char* name, Fn& out) {
  FARPROC proc = GetProcAddress(module, name);
  if (proc == nullptr) throw Napi::Error::New(env, std::string("the webauthn.dll in System32 is not the test double: no ") + name);
  out = reinterpret_cast<Fn>(reinterpret_cast<void*>(proc));
}

/** The same System32 webauthn.dll the addon loaded (one module per process). */
const Double& theDouble(Napi::Env env) {
  static Double d;
  if (d.invoke != nullptr) return d;
  HMODULE module = LoadLibraryExW(L"webauthn.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == nullptr) throw Napi::Error::New(env, "webauthn.dll is not in System32");
  Double loaded;
  resolve(env, module, "DoubleInvokeOperation", loaded.invoke);
  resolve(env, module, "DoubleCancelOperation", loaded.cancel);
  resolve(env, module, "DoubleGetLockStatus", loaded.lockStatus);
  resolve(env, module, "DoubleSetUserVerification", loaded.setUserVerification);
  resolve(env, module, "DoubleSetAuthenticatorState", loaded.setState);
  resolve(env, module, "DoubleOutstandingBuffers", loaded.outstanding);
  resolve(env, module, "DoubleFree", loaded.free);
  d = loaded;
  return d;
}

struct Outcome {
  HRESULT hresult = E_FAIL;
  std::vector<uint8_t> response;
};

/** Runs `work` on a new thread and resolves the returned Promise with {hresult, response?}. */
Napi::Value runOffThread(Napi::Env env, std::function<Outcome()> work) {
  auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::ThreadSafeFunction toJs =
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "double", 0, 1);
  std::thread([work, deferred, toJs]() mutable {
    auto outcome = std::make_shared<Outcome>(work());
    toJs.BlockingCall([deferred, outcome](Napi::Env env, Napi::Function) {
      Napi::Object result = Napi::Object::New(env);
      result.Set("hresult", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(outcome->hresult))));
      if (!outcome->response.empty()) {
        result.Set("response", latchkey::toUint8Array(env, outcome->response.data(), outcome->response.size()));
      }
      deferred->Resolve(result);
    });
    toJs.Release();
  }).detach();
  return deferred->Promise();
}

int signatureMode(Napi::Env env, const std::string& mode) {
  if (mode == "valid") return 0;
  if (mode == "forged") return 1;
  if (mode == "missing") return 2;
  if (mode == "other-bytes") return 3;
  throw Napi::TypeError::New(env, "signature must be valid | forged | missing | other-bytes, not " + mode);
}

// invoke(kind, request, { transactionId, hwnd, signature }) → Promise<{ hresult, response? }>
Napi::Value invoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Double& d = theDouble(env);
  bool getAssertion = latchkey::stringArg(info[0], "kind") == "getAssertion";
  std::vector<uint8_t> request = latchkey::bytesArg(info[1], "request");
  Napi::Object options = latchkey::objectArg(info[2], "options");
  GUID transactionId = latchkey::guidArg(options.Get("transactionId"), "transactionId");
  uint64_t hwnd = reinterpret_cast<uintptr_t>(latchkey::hwndArg(options.Get("hwnd"), "hwnd"));
  int mode = signatureMode(env, latchkey::stringArg(options.Get("signature"), "signature"));
  return runOffThread(env, [d, getAssertion, request, transactionId, hwnd, mode] {
    Outcome outcome;
    DWORD size = 0;
    BYTE* response = nullptr;
    outcome.hresult = d.invoke(getAssertion ? 1 : 0, hwnd, &transactionId, request.data(),
                               static_cast<DWORD>(request.size()), mode, &size, &response);
    if (response != nullptr) {
      outcome.response.assign(response, response + size);
      d.free(response);
    }
    return outcome;
  });
}

// cancel(transactionId) → Promise<{ hresult }>
Napi::Value cancel(const Napi::CallbackInfo& info) {
  const Double& d = theDouble(info.Env());
  GUID transactionId = latchkey::guidArg(info[0], "transactionId");
  return runOffThread(info.Env(), [d, transactionId] { return Outcome{d.cancel(&transactionId), {}}; });
}

// lockStatus() → { hresult, status }: synchronous on the JS thread, which proves the addon answers
// it without a JavaScript round trip (one would deadlock here).
Napi::Value lockStatus(const Napi::CallbackInfo& info) {
  const Double& d = theDouble(info.Env());
  int status = -1;
  HRESULT hr = d.lockStatus(&status);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("hresult", static_cast<double>(static_cast<uint32_t>(hr)));
  result.Set("status", status == 0 ? "locked" : status == 1 ? "unlocked" : "?");
  return result;
}

// setUserVerification('accept' | 'decline' | 'slow', delayMs)
Napi::Value setUserVerification(const Napi::CallbackInfo& info) {
  std::string mode = latchkey::stringArg(info[0], "mode");
  DWORD delay = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 5000;
  theDouble(info.Env()).setUserVerification(mode == "decline" ? 1 : mode == "slow" ? 2 : 0, delay);
  return info.Env().Undefined();
}

// setAuthenticatorState(enabled) → Promise<{ hresult }>: fires the status callbacks on a Windows thread.
Napi::Value setAuthenticatorState(const Napi::CallbackInfo& info) {
  const Double& d = theDouble(info.Env());
  int enabled = info[0].ToBoolean().Value() ? 1 : 0;
  return runOffThread(info.Env(), [d, enabled] { return Outcome{d.setState(enabled), {}}; });
}

// answerChoice(title, index) → Promise<{ hresult, lines }>: plays the user at Latchkey's passkey
// chooser: waits for the dialog titled `title`, reads its list (control 1001, kChoiceListId in
// native/src/choice_dialog.h), then picks line `index` and presses "Sign in", or presses Cancel
// when index is -1.
Napi::Value answerChoice(const Napi::CallbackInfo& info) {
  std::wstring title = latchkey::toWide(latchkey::stringArg(info[0], "title"));
  int index = info[1].As<Napi::Number>().Int32Value();
  auto lines = std::make_shared<std::vector<std::wstring>>();
  Napi::Env env = info.Env();
  auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::ThreadSafeFunction toJs =
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "double", 0, 1);
  std::thread([title, index, lines, deferred, toJs]() mutable {
    // The dialog exists before WM_INITDIALOG has filled it; it is shown only after.
    HWND dialog = nullptr;
    for (int i = 0; i < 300; i++) {
      dialog = FindWindowW(L"#32770", title.c_str());
      if (dialog != nullptr && IsWindowVisible(dialog)) break;
      dialog = nullptr;
      Sleep(50);
    }
    HRESULT hr = dialog == nullptr ? HRESULT_FROM_WIN32(ERROR_NOT_FOUND) : S_OK;
    if (dialog != nullptr) {
      HWND list = GetDlgItem(dialog, 1001);
      LRESULT count = SendMessageW(list, LB_GETCOUNT, 0, 0);
      for (LRESULT i = 0; i < count; i++) {
        std::wstring line(static_cast<size_t>(SendMessageW(list, LB_GETTEXTLEN, i, 0)), L'\0');
        SendMessageW(list, LB_GETTEXT, i, reinterpret_cast<LPARAM>(line.data()));
        lines->push_back(line);
      }
      if (index >= 0) SendMessageW(list, LB_SETCURSEL, index, 0);
      PostMessageW(dialog, WM_COMMAND, MAKEWPARAM(index >= 0 ? IDOK : IDCANCEL, BN_CLICKED), 0);
    }
    toJs.BlockingCall([deferred, lines, hr](Napi::Env env, Napi::Function) {
      Napi::Object result = Napi::Object::New(env);
      result.Set("hresult", static_cast<double>(static_cast<uint32_t>(hr)));
      Napi::Array texts = Napi::Array::New(env, lines->size());
      for (size_t i = 0; i < lines->size(); i++) texts.Set(static_cast<uint32_t>(i), Napi::String::New(env, latchkey::toUtf8((*lines)[i].c_str())));
      result.Set("lines", texts);
      deferred->Resolve(result);
    });
    toJs.Release();
  }).detach();
  return deferred->Promise();
}

Napi::Value outstandingBuffers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), theDouble(info.Env()).outstanding());
}

}  // namespace

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("invoke", Napi::Function::New(env, invoke, "invoke"));
  exports.Set("cancel", Napi::Function::New(env, cancel, "cancel"));
  exports.Set("lockStatus", Napi::Function::New(env, lockStatus, "lockStatus"));
  exports.Set("setUserVerification", Napi::Function::New(env, setUserVerification, "setUserVerification"));
  exports.Set("setAuthenticatorState", Napi::Function::New(env, setAuthenticatorState, "setAuthenticatorState"));
  exports.Set("answerChoice", Napi::Function::New(env, answerChoice, "answerChoice"));
  exports.Set("outstandingBuffers", Napi::Function::New(env, outstandingBuffers, "outstandingBuffers"));
  return exports;
}

NODE_API_MODULE(latchkey_double_driver, init)
