import { registerError } from '../../app/core/errors.ts';

/** Errors of the staking module (codespace `staking`). Codes are wire contract: never renumber, only append. */
export const STAKING_CODESPACE = 'staking';

export const stakingErrors = {
  validatorExists: registerError(STAKING_CODESPACE, 2, 'validator already exists'),
  validatorNotFound: registerError(STAKING_CODESPACE, 3, 'validator not found'),
  pubkeyInUse: registerError(STAKING_CODESPACE, 4, 'public key already in use'),
  invalidPubkey: registerError(STAKING_CODESPACE, 5, 'invalid ed25519 public key'),
  invalidCommission: registerError(STAKING_CODESPACE, 6, 'invalid commission rate'),
  invalidMoniker: registerError(STAKING_CODESPACE, 7, 'invalid moniker'),
  invalidAmount: registerError(STAKING_CODESPACE, 8, 'invalid amount'),
  selfStakeTooLow: registerError(STAKING_CODESPACE, 9, 'self-stake below min_self_stake'),
  delegationNotFound: registerError(STAKING_CODESPACE, 10, 'delegation not found'),
  insufficientDelegation: registerError(STAKING_CODESPACE, 11, 'amount exceeds the delegation'),
  notJailed: registerError(STAKING_CODESPACE, 12, 'not jailed'),
  jailPeriodActive: registerError(STAKING_CODESPACE, 13, 'still jailed'),
  minerExists: registerError(STAKING_CODESPACE, 14, 'miner already registered'),
  minerNotFound: registerError(STAKING_CODESPACE, 15, 'miner not found'),
  minerStakeTooLow: registerError(STAKING_CODESPACE, 16, 'miner stake below min_miner_stake'),
  invalidBackend: registerError(STAKING_CODESPACE, 17, 'invalid backend class'),
  invalidGpuArch: registerError(STAKING_CODESPACE, 18, 'invalid GPU architecture'),
  minerJailed: registerError(STAKING_CODESPACE, 19, 'miner is jailed'),
  invalidSlash: registerError(STAKING_CODESPACE, 20, 'invalid slash'),
  invalidParams: registerError(STAKING_CODESPACE, 21, 'invalid staking params'),
  insufficientMinerStake: registerError(STAKING_CODESPACE, 22, 'amount exceeds the miner stake'),
  invalidGenesis: registerError(STAKING_CODESPACE, 23, 'invalid staking genesis'),
  notAnOperator: registerError(STAKING_CODESPACE, 24, 'neither a registered miner nor a validator'),
  invalidContentLocation: registerError(STAKING_CODESPACE, 25, 'invalid content location'),
} as const;
