#include "convert.h"

#include <cstdio>
#include <cstring>

namespace latchkey {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/** Reads `count` hex digits starting at text[pos]; false on a non-hex character. */
bool readHex(const std::string& text, size_t pos, size_t count, uint64_t& out) {
  out = 0;
  for (size_t i = 0; i < count; i++) {
    int v = hexValue(text[pos + i]);
    if (v < 0) return false;
    out = (out << 4) | static_cast<uint64_t>(v);
  }
  return true;
}

}  // namespace

std::optional<GUID> parseGuid(const std::string& text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') return std::nullopt;
  GUID guid{};
  uint64_t v = 0;
  if (!readHex(text, 0, 8, v)) return std::nullopt;
  guid.Data1 = static_cast<unsigned long>(v);
  if (!readHex(text, 9, 4, v)) return std::nullopt;
  guid.Data2 = static_cast<unsigned short>(v);
  if (!readHex(text, 14, 4, v)) return std::nullopt;
  guid.Data3 = static_cast<unsigned short>(v);
  // Data4: the last two groups, byte by byte in text order.
  static const size_t kData4At[8] = {19, 21, 24, 26, 28, 30, 32, 34};
  for (size_t i = 0; i < 8; i++) {
    if (!readHex(text, kData4At[i], 2, v)) return std::nullopt;
    guid.Data4[i] = static_cast<unsigned char>(v);
  }
  return guid;
}

std::string formatGuid(const GUID& g) {
  char buffer[37];
  std::snprintf(buffer, sizeof buffer, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                static_cast<unsigned long>(g.Data1), g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2],
                g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
  return std::string(buffer, 36);
}

std::wstring toWide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  int length = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring wide(static_cast<size_t>(length), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), wide.data(), length);
  return wide;
}

std::string toUtf8(const wchar_t* wide) {
  if (wide == nullptr || *wide == L'\0') return std::string();
  int length = WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr);
  if (length <= 1) return std::string();
  std::string utf8(static_cast<size_t>(length), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, -1, utf8.data(), length, nullptr, nullptr);
  utf8.resize(static_cast<size_t>(length - 1));  // drop the terminator
  return utf8;
}

Napi::Error hresultError(Napi::Env env, const std::string& what, HRESULT hr) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(static_cast<uint32_t>(hr)));
  Napi::Error error = Napi::Error::New(env, what + " failed: HRESULT " + code);
  error.Set("hresult", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(hr))));
  return error;
}

void throwHresult(Napi::Env env, const std::string& what, HRESULT hr) {
  throw hresultError(env, what, hr);
}

GUID guidArg(const Napi::Value& value, const char* name) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a GUID string");
  std::optional<GUID> guid = parseGuid(value.As<Napi::String>().Utf8Value());
  if (!guid) throw Napi::TypeError::New(value.Env(), std::string(name) + " must look like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
  return *guid;
}

std::string stringArg(const Napi::Value& value, const char* name) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a string");
  std::string text = value.As<Napi::String>().Utf8Value();
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must not contain NUL characters");
  }
  return text;
}

std::optional<std::string> optionalStringArg(const Napi::Value& value, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return std::nullopt;
  return stringArg(value, name);
}

std::vector<uint8_t> bytesArg(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a Uint8Array");
  }
  Napi::Uint8Array array = value.As<Napi::Uint8Array>();
  if (array.ByteLength() > 0xFFFFFFFFu) throw Napi::RangeError::New(value.Env(), std::string(name) + " is too large");
  return std::vector<uint8_t>(array.Data(), array.Data() + array.ByteLength());
}

Napi::Object objectArg(const Napi::Value& value, const char* name) {
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), std::string(name) + " must be an object");
  return value.As<Napi::Object>();
}

HWND hwndArg(const Napi::Value& value, const char* name) {
  if (!value.IsBigInt()) throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  uint64_t raw = value.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(value.Env(), std::string(name) + " is not a window handle");
  return reinterpret_cast<HWND>(static_cast<uintptr_t>(raw));
}

Napi::Uint8Array toUint8Array(Napi::Env env, const uint8_t* data, size_t size) {
  Napi::Uint8Array array = Napi::Uint8Array::New(env, size);
  if (size > 0) std::memcpy(array.Data(), data, size);
  return array;
}

}  // namespace latchkey
