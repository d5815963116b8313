// chooseCredential: a small modal dialog, owned by the caller's window, that lets the user pick
// one of several passkeys. Built from an in-memory dialog template with plain user32 controls, so
// it needs no comctl32 v6 activation context inside a host executable we do not control.
#include "choice_dialog.h"

#include <windows.h>

#include <cstring>

#include <string>
#include <vector>

#include "convert.h"
#include "own_thread.h"

namespace latchkey {
namespace {

/** A DLGTEMPLATE and its DLGITEMTEMPLATEs, laid out as DialogBoxIndirect reads them. */
class DialogTemplate {
 public:
  DialogTemplate(DWORD style, short cx, short cy, const std::wstring& title, WORD points, const std::wstring& font) {
    dword(style);
    dword(0);  // extended style
    countAt_ = words_.size();
    words_.push_back(0);  // item count, patched as items are added
    words_.insert(words_.end(), {0, 0, static_cast<WORD>(cx), static_cast<WORD>(cy)});
    words_.push_back(0);  // no menu
    words_.push_back(0);  // the standard dialog class
    text(title);
    words_.push_back(points);  // DS_SETFONT
    text(font);
  }

  void item(DWORD style, short x, short y, short cx, short cy, WORD id, WORD classAtom, const std::wstring& caption) {
    if (words_.size() % 2 != 0) words_.push_back(0);  // each item starts on a DWORD boundary
    dword(style | WS_CHILD | WS_VISIBLE);
    dword(0);
    words_.insert(words_.end(), {static_cast<WORD>(x), static_cast<WORD>(y), static_cast<WORD>(cx), static_cast<WORD>(cy), id});
    words_.insert(words_.end(), {0xFFFF, classAtom});
    text(caption);
    words_.push_back(0);  // no creation data
    words_[countAt_]++;
  }

  /** DWORD-aligned storage for DialogBoxIndirectParam. */
  std::vector<DWORD> bytes() const {
    std::vector<DWORD> aligned((words_.size() + 1) / 2, 0);
    memcpy(aligned.data(), words_.data(), words_.size() * sizeof(WORD));
    return aligned;
  }

 private:
  void dword(DWORD value) { words_.insert(words_.end(), {LOWORD(value), HIWORD(value)}); }
  void text(const std::wstring& value) {
    words_.insert(words_.end(), value.begin(), value.end());
    words_.push_back(0);
  }

  std::vector<WORD> words_;
  size_t countAt_ = 0;
};

constexpr WORD kButton = 0x0080, kStatic = 0x0082, kListBox = 0x0083;

struct Choice {
  HWND owner = nullptr;
  std::wstring title, message;
  std::vector<std::wstring> lines;
  INT_PTR result = 0;  // 1-based index; 0 cancelled; -1 failed
  DWORD error = 0;
};

INT_PTR CALLBACK dialogProc(HWND dialog, UINT message, WPARAM wParam, LPARAM lParam) {
  switch (message) {
    case WM_INITDIALOG: {
      const auto* choice = reinterpret_cast<const Choice*>(lParam);
      HWND list = GetDlgItem(dialog, kChoiceListId);
      for (const std::wstring& line : choice->lines) SendMessageW(list, LB_ADDSTRING, 0, reinterpret_cast<LPARAM>(line.c_str()));
      SendMessageW(list, LB_SETCURSEL, 0, 0);
      SetForegroundWindow(dialog);
      SetFocus(list);
      return FALSE;  // focus set here
    }
    case WM_COMMAND: {
      WORD id = LOWORD(wParam);
      if (id == IDOK || (id == kChoiceListId && HIWORD(wParam) == LBN_DBLCLK)) {
        LRESULT selected = SendMessageW(GetDlgItem(dialog, kChoiceListId), LB_GETCURSEL, 0, 0);
        if (selected != LB_ERR) EndDialog(dialog, static_cast<INT_PTR>(selected) + 1);
        return TRUE;
      }
      if (id == IDCANCEL) {
        EndDialog(dialog, 0);
        return TRUE;
      }
      return FALSE;
    }
    default:
      return FALSE;
  }
}

HMODULE thisModule() {
  HMODULE module = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCWSTR>(&thisModule), &module);
  return module;
}

void showChoice(Choice& choice) {
  DialogTemplate dialog(WS_POPUP | WS_CAPTION | WS_SYSMENU | DS_MODALFRAME | DS_SETFONT | DS_CENTER, 260, 150, choice.title, 9,
                        L"Segoe UI");
  dialog.item(SS_LEFT, 7, 7, 246, 18, 0xFFFF, kStatic, choice.message);
  dialog.item(LBS_NOTIFY | LBS_NOINTEGRALHEIGHT | WS_VSCROLL | WS_BORDER | WS_TABSTOP, 7, 28, 246, 92, kChoiceListId, kListBox, L"");
  dialog.item(BS_DEFPUSHBUTTON | WS_TABSTOP, 146, 128, 52, 14, IDOK, kButton, L"Sign in");
  dialog.item(BS_PUSHBUTTON | WS_TABSTOP, 202, 128, 51, 14, IDCANCEL, kButton, L"Cancel");
  std::vector<DWORD> bytes = dialog.bytes();
  HWND owner = choice.owner != nullptr && IsWindow(choice.owner) ? choice.owner : nullptr;
  choice.result = DialogBoxIndirectParamW(thisModule(), reinterpret_cast<LPCDLGTEMPLATEW>(bytes.data()), owner, dialogProc,
                                          reinterpret_cast<LPARAM>(&choice));
  if (choice.result == -1) choice.error = GetLastError();
}

}  // namespace

Napi::Value chooseCredential(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto choice = std::make_shared<Choice>();
  try {
    Napi::Object request = objectArg(info[0], "request");
    choice->owner = hwndArg(request.Get("hwnd"), "request.hwnd");
    choice->title = toWide(stringArg(request.Get("title"), "request.title"));
    choice->message = toWide(stringArg(request.Get("message"), "request.message"));
    Napi::Value items = request.Get("items");
    if (!items.IsArray() || items.As<Napi::Array>().Length() == 0) throw Napi::TypeError::New(env, "request.items must be a non-empty array");
    Napi::Array array = items.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Object item = objectArg(array.Get(i), "request.items[i]");
      std::wstring line = toWide(stringArg(item.Get("label"), "label"));
      std::optional<std::string> detail = optionalStringArg(item.Get("detail"), "detail");
      if (detail) line += L"  \u2014  " + toWide(*detail);
      choice->lines.push_back(line);
    }
  } catch (const Napi::Error& error) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(error.Value());
    return deferred.Promise();
  }
  return promiseFromOwnThread<std::shared_ptr<Choice>>(
      env,
      [choice] {
        showChoice(*choice);
        return choice;
      },
      [](Napi::Env env, Napi::Promise::Deferred& settle, std::shared_ptr<Choice>& done) {
        if (done->result > 0) {
          settle.Resolve(Napi::Number::New(env, static_cast<double>(done->result - 1)));
        } else if (done->result == 0) {
          settle.Reject(hresultError(env, "the passkey choice", NTE_USER_CANCELLED).Value());
        } else {
          settle.Reject(hresultError(env, "DialogBoxIndirectParam", HRESULT_FROM_WIN32(done->error)).Value());
        }
      });
}

}  // namespace latchkey
