/*
 * MinGW builds only (node-gyp adds its own hook under MSVC): the N-API imports are delay-loaded
 * from "node.exe", and this hook answers that request with the module of the running executable.
 * So the addon also loads in a host that is not named node.exe (latchkey.exe, a single-executable
 * build, Electron), which exports the same N-API symbols.
 */
#include <windows.h>
#include <delayimp.h>
#include <string.h>

static FARPROC WINAPI latchkey_delay_load_hook(unsigned event, PDelayLoadInfo info) {
  if (event == dliNotePreLoadLibrary && info != NULL && info->szDll != NULL && _stricmp(info->szDll, "node.exe") == 0) {
    return (FARPROC)(void *)GetModuleHandleW(NULL);
  }
  return NULL;
}

PfnDliHook __pfnDliNotifyHook2 = latchkey_delay_load_hook;
