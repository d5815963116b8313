// Conversions at the JavaScript boundary: GUID strings, UTF-16, byte buffers, HRESULT errors.
#pragma once

#include <windows.h>

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace latchkey {

/** Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case, no braces) into Windows' GUID layout. */
std::optional<GUID> parseGuid(const std::string& text);
/** The canonical lower-case form, the GUID's fields as StringFromGUID2 prints them, without braces. */
std::string formatGuid(const GUID& guid);

std::wstring toWide(const std::string& utf8);
std::string toUtf8(const wchar_t* wide);

/** A JS Error whose `hresult` property is the HRESULT as an unsigned 32-bit number. */
Napi::Error hresultError(Napi::Env env, const std::string& what, HRESULT hr);
[[noreturn]] void throwHresult(Napi::Env env, const std::string& what, HRESULT hr);

// Argument readers: throw a TypeError naming the argument when the value has the wrong shape.
GUID guidArg(const Napi::Value& value, const char* name);
std::string stringArg(const Napi::Value& value, const char* name);
/** undefined/null → nullopt. */
std::optional<std::string> optionalStringArg(const Napi::Value& value, const char* name);
std::vector<uint8_t> bytesArg(const Napi::Value& value, const char* name);
Napi::Object objectArg(const Napi::Value& value, const char* name);
HWND hwndArg(const Napi::Value& value, const char* name);

Napi::Uint8Array toUint8Array(Napi::Env env, const uint8_t* data, size_t size);

}  // namespace latchkey
