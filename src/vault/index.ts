/**
 * The vault: Latchkey's CredentialStore on SQLite, with sealed secrets and a vault key
 * held by a key protector.
 * @module
 */
export { openVault, type OpenVaultOptions, type ProtectorChoice, type Vault, type VaultInfo } from './vault.js';
export type { NewCredential } from './sqliteStore.js';
export {
  defaultKeyDir,
  defaultVaultPath,
  KEY_DIR_ENV,
  keyDirForThisProcess,
  resolveKeyDir,
  resolveVaultPath,
  VAULT_ENV,
  vaultPathForThisProcess,
  type PathEnv,
} from './paths.js';
export type { KeyProtector, ProtectorParams, VaultKeyBinding, WrappedVaultKey } from './keyProtectors/keyProtector.js';
export { createKeyFileProtector, KEY_FILE_KIND } from './keyProtectors/keyFile.js';
export { createPassphraseProtector, DEFAULT_SCRYPT_COST, PASSPHRASE_KIND, type ScryptCost } from './keyProtectors/passphrase.js';
export type { SqlDriver, SqlDriverFactory, SqlOpenOptions, SqlRow, SqlStatement, SqlValue } from './sqlDriver.js';
export { openBetterSqlite3 } from './drivers/betterSqlite3.js';
export { hasNodeSqlite, openNodeSqlite } from './drivers/nodeSqlite.js';
export { chooseDriver, defaultDriverChoice, openDefaultDriver, SQL_DRIVER_ENV, type DriverChoice, type DriverName } from './drivers/defaultDriver.js';
export { createDpapiProtector, DPAPI_KIND, type DpapiFunctions } from './keyProtectors/dpapi.js';
export { LATCHKEY_APPLICATION_ID, LATEST_SCHEMA_VERSION } from './migrations.js';
