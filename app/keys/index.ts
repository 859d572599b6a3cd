/** Public surface of the keyring; see README.md. */
export { Keyring, KeyringError, type KeyInfo, type NewKey, type KeyringBackend, type KeyringErrorCode, type KeyringOptions } from './keyring.ts';
export { bech32Prefix, defaultHdPath, deriveKey, generateMnemonic, normalizeMnemonic, type DerivedKey } from './derive.ts';
