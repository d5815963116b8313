/*
 * Test-only prelude for compiling widl's proxy code with MinGW: widl expects Wine's exception
 * macros (wine/exception.h); the MSVC-style ones in rpc.h use __try, which GCC lacks. A test proxy
 * can do without structured exception handling: a fault in marshalling crashes the test, loudly.
 */
#define USE_COMPILER_EXCEPTIONS
#include <rpc.h>
#include <unknwn.h>
#undef RpcTryExcept
#undef RpcExcept
#undef RpcEndExcept
#undef RpcTryFinally
#undef RpcFinally
#undef RpcEndFinally
#undef RpcExceptionCode
#undef RpcAbnormalTermination
#define RpcTryExcept if (1) {
#define RpcExcept(expr) } else {
#define RpcEndExcept }
#define RpcTryFinally {
#define RpcFinally }
#define RpcEndFinally
#define RpcExceptionCode() 0
#define RpcAbnormalTermination() 0

/* rpcrt4 exports these; MinGW's rpcproxy.h does not declare them. */
HRESULT STDMETHODCALLTYPE IUnknown_QueryInterface_Proxy(IUnknown *This, REFIID riid, void **ppv);
ULONG STDMETHODCALLTYPE IUnknown_AddRef_Proxy(IUnknown *This);
ULONG STDMETHODCALLTYPE IUnknown_Release_Proxy(IUnknown *This);
