/*
 * Test-only: another process calling Latchkey's COM object as the WebAuthn service does, through
 * CoCreateInstance(CLSCTX_LOCAL_SERVER): the call crosses processes, is marshalled by the test
 * proxy/stub (plugin_authenticator.idl) and arrives on an RPC thread of the server.
 *
 *   com_client.exe CLSID lock
 *   com_client.exe CLSID invoke make|get TRANSACTION-ID REQUEST-HEX
 *   com_client.exe CLSID cancel TRANSACTION-ID
 *
 * Prints one JSON object on stdout.
 */
#define COBJMACROS
#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_authenticator.h"

static BOOL parseGuid(const char *text, GUID *out) {
  WCHAR braced[40];
  if (strlen(text) != 36) return FALSE;
  swprintf(braced, 40, L"{%hs}", text);
  return SUCCEEDED(CLSIDFromString(braced, out));
}

static BYTE *parseHex(const char *text, DWORD *size) {
  size_t n = strlen(text) / 2;
  BYTE *bytes = (BYTE *)malloc(n == 0 ? 1 : n);
  for (size_t i = 0; bytes != NULL && i < n; i++) {
    unsigned value = 0;
    sscanf(text + 2 * i, "%2x", &value);
    bytes[i] = (BYTE)value;
  }
  *size = (DWORD)n;
  return bytes;
}

int main(int argc, char **argv) {
  GUID clsid, transaction;
  if (argc < 3 || !parseGuid(argv[1], &clsid)) {
    fprintf(stderr, "usage: com_client CLSID lock | invoke make|get TX HEX | cancel TX\n");
    return 2;
  }
  CoInitializeEx(NULL, COINIT_MULTITHREADED);
  IPluginAuthenticator *plugin = NULL;
  HRESULT hr = CoCreateInstance(&clsid, NULL, CLSCTX_LOCAL_SERVER, &IID_IPluginAuthenticator, (void **)&plugin);
  if (FAILED(hr)) {
    printf("{\"activation\":%lu}\n", (unsigned long)hr);
    return 0;
  }
  if (strcmp(argv[2], "lock") == 0) {
    PLUGIN_LOCK_STATUS status = PluginLocked;
    hr = IPluginAuthenticator_GetLockStatus(plugin, &status);
    printf("{\"hresult\":%lu,\"status\":\"%s\"}\n", (unsigned long)hr, status == PluginUnlocked ? "unlocked" : "locked");
  } else if (strcmp(argv[2], "invoke") == 0 && argc == 6 && parseGuid(argv[4], &transaction)) {
    WEBAUTHN_PLUGIN_OPERATION_REQUEST request;
    WEBAUTHN_PLUGIN_OPERATION_RESPONSE response = {0, NULL};
    memset(&request, 0, sizeof request);
    request.hWnd = (HWND)(ULONG_PTR)0x30042;
    request.transactionId = transaction;
    request.requestType = WEBAUTHN_PLUGIN_REQUEST_TYPE_CTAP2_CBOR;
    request.pbEncodedRequest = parseHex(argv[5], &request.cbEncodedRequest);
    hr = strcmp(argv[3], "get") == 0 ? IPluginAuthenticator_GetAssertion(plugin, &request, &response)
                                     : IPluginAuthenticator_MakeCredential(plugin, &request, &response);
    printf("{\"hresult\":%lu,\"response\":\"", (unsigned long)hr);
    for (DWORD i = 0; response.pbEncodedResponse != NULL && i < response.cbEncodedResponse; i++) printf("%02x", response.pbEncodedResponse[i]);
    printf("\"}\n");
    CoTaskMemFree(response.pbEncodedResponse);
    free(request.pbEncodedRequest);
  } else if (strcmp(argv[2], "cancel") == 0 && argc == 4 && parseGuid(argv[3], &transaction)) {
    WEBAUTHN_PLUGIN_CANCEL_OPERATION_REQUEST request = {transaction, 0, NULL};
    hr = IPluginAuthenticator_CancelOperation(plugin, &request);
    printf("{\"hresult\":%lu}\n", (unsigned long)hr);
  } else {
    fprintf(stderr, "unknown command\n");
    return 2;
  }
  IPluginAuthenticator_Release(plugin);
  CoUninitialize();
  return 0;
}
