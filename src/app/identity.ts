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
