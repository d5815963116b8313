// Runs a blocking Win32 call (a Hello prompt, a dialog) on a thread of its own and settles a
// Promise on the JS thread. Not the libuv pool: such a call can wait for minutes and must not
// starve file I/O or the vault's key derivation.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <thread>

namespace latchkey {

template <typename Result>
Napi::Value promiseFromOwnThread(Napi::Env env, std::function<Result()> work,
                                 std::function<void(Napi::Env, Napi::Promise::Deferred&, Result&)> settle) {
  auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::ThreadSafeFunction toJs =
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "latchkey-own-thread", 0, 1);
  std::thread([work, settle, deferred, toJs]() mutable {
    auto result = std::make_shared<Result>(work());
    toJs.BlockingCall([settle, deferred, result](Napi::Env env, Napi::Function) {
      try {
        settle(env, *deferred, *result);
      } catch (const Napi::Error& error) {
        deferred->Reject(error.Value());
      }
    });
    toJs.Release();
  }).detach();
  return deferred->Promise();
}

}  // namespace latchkey
