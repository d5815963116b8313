/**
 * The composition root: picks the store, the key protector, the user verifier and the transport
 * for this OS. The CLI calls these; nothing else wires the layers together.
 * @module
 */
import { Authenticator, type AttestationMode, type CredentialStore } from '../ctap/index.js';
import { keyDirForThisProcess, vaultPathForThisProcess } from '../vault/paths.js';
import { openVault, type Vault } from '../vault/vault.js';
import { AAGUID } from './identity.js';
import { followWindowsCache, platformProtector } from './windowsPlatform.js';

/** Environment variable that supplies the vault passphrase non-interactively. */
export const PASSPHRASE_ENV = 'LATCHKEY_PASSPHRASE';

export interface VaultChoice {
  /** `--vault`; else LATCHKEY_VAULT; else the OS default. */
  readonly path?: string | undefined;
  /** Create the vault when it does not exist (default true). */
  readonly create?: boolean | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

export function vaultPath(choice: VaultChoice = {}): string {
  return vaultPathForThisProcess(choice.path);
}

/**
 * Opens (or creates) the user's vault with the protector it records. On Windows a new vault is
 * protected with DPAPI, and deletions also leave Windows' credential cache (windowsPlatform.ts).
 */
export function openUserVault(choice: VaultChoice = {}): Vault {
  const env = choice.env ?? process.env;
  const passphrase = env[PASSPHRASE_ENV];
  const hasPassphrase = passphrase !== undefined && passphrase !== '';
  const protector = hasPassphrase ? undefined : platformProtector();
  const vault = openVault({
    path: vaultPath(choice),
    create: choice.create ?? true,
    keyDir: keyDirForThisProcess(),
    ...(hasPassphrase ? { passphrase } : {}),
    ...(protector !== undefined ? { protector } : {}),
  });
  return followWindowsCache(vault);
}

export interface AuthenticatorChoice {
  readonly attestation?: AttestationMode | undefined;
  readonly userVerification?: boolean | undefined;
  readonly transports?: readonly string[] | undefined;
  readonly log?: ((message: string) => void) | undefined;
}

export function buildAuthenticator(store: CredentialStore, choice: AuthenticatorChoice = {}): Authenticator {
  return new Authenticator({
    store,
    aaguid: AAGUID,
    attestation: choice.attestation,
    userVerification: choice.userVerification,
    transports: choice.transports,
    log: choice.log,
  });
}
