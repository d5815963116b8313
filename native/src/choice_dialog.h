// chooseCredential(request): Promise<number> — the optional credential chooser of the contract.
#pragma once

#include <napi.h>

namespace latchkey {

/** Control id of the dialog's list of passkeys (tests under Wine find it by this id). */
inline constexpr int kChoiceListId = 1001;

Napi::Value chooseCredential(const Napi::CallbackInfo& info);

}  // namespace latchkey
