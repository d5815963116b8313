# MSVC build of the Windows addon (on Windows: `npx node-gyp rebuild -C native`), from the same
# sources `npm run build:win` cross-builds with MinGW. This file is kept out of the repository root
# so that `npm ci` never tries to build it; on other systems the target is empty.
{
  "targets": [
    {
      "target_name": "latchkey_windows",
      "conditions": [
        ["OS=='win'", {
          "sources": [
            "src/addon.cc",
            "src/choice_dialog.cc",
            "src/com_server.cc",
            "src/convert.cc",
            "src/plugin_bindings.cc",
            "src/webauthn_api.cc"
          ],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": [
            "NAPI_VERSION=8",
            "NAPI_CPP_EXCEPTIONS",
            "NODE_ADDON_API_DISABLE_DEPRECATED",
            "UNICODE",
            "_UNICODE",
            "_WIN32_WINNT=0x0A00"
          ],
          # webauthn.dll is deliberately absent: every plugin function is resolved at run time.
          "libraries": ["ole32.lib", "uuid.lib", "crypt32.lib", "user32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "ExceptionHandling": 1,
              "WarningLevel": 3,
              "WarnAsError": "true",
              "AdditionalOptions": ["/std:c++17", "/sdl", "/guard:cf", "/utf-8"]
            },
            "VCLinkerTool": {
              "AdditionalOptions": ["/guard:cf", "/DYNAMICBASE"]
            }
          }
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
