/**
 * Latchkey's identity: the one source of its name, AAGUID and Windows COM CLSID.
 * The manifest and the native shim must agree with these (a test checks it once they exist).
 * @module
 */
import { fromHex } from '../crypto/bytes.js';

export const PRODUCT_NAME = 'Latchkey';

/** AAGUID: identifies the authenticator model to relying parties (random, generated once for Latchkey). */
export const AAGUID_STRING = 'e8b436ad-7d80-4646-88a2-56809844151b';

export const AAGUID: Uint8Array = fromHex(AAGUID_STRING.replace(/-/g, ''));

/**
 * CLSID of Latchkey's IPluginAuthenticator COM class: the manifest's com:Class Id, the CLSID given to
 * WebAuthNPluginAddAuthenticator and to CoRegisterClassObject. Defined here once; a package that
 * declares a class it does not serve would hijack it, so nothing else may invent one.
 */
export const CLSID = '0584e84a-fbf4-49c0-bdc5-11a0b9d3f843';

/** The argument the manifest's com:ExeServer passes when COM activates Latchkey. */
export const COM_ACTIVATION_ARGUMENT = 'serve --com';
