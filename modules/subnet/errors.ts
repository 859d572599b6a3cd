/**
 * Errors of the subnet module (codespace `subnet`), registered once here. Codes are part of
 * the wire contract: never renumber, only append. Malformed addresses keep `sdk` code 7.
 */
import { registerError } from '../../app/core/errors.ts';

export const SUBNET_CODESPACE = 'subnet';

export const subnetErrors = {
  /** A parameter value (genesis or a parameter-change proposal) breaks a rule. */
  invalidParams: registerError(SUBNET_CODESPACE, 2, 'invalid subnet params'),
  /** Genesis state is inconsistent (order, duplicates, malformed activations). */
  invalidGenesis: registerError(SUBNET_CODESPACE, 3, 'invalid subnet genesis'),
  /** The model version is unknown (or, for "the active version", none is active). */
  modelVersionNotFound: registerError(SUBNET_CODESPACE, 4, 'model version not found'),
  /** No training window with this id. */
  windowNotFound: registerError(SUBNET_CODESPACE, 5, 'window not found'),
  /** The window no longer (or not yet) collects. */
  windowNotCollecting: registerError(SUBNET_CODESPACE, 6, 'window not collecting'),
  /** The submitter is not a registered miner. */
  minerNotRegistered: registerError(SUBNET_CODESPACE, 7, 'miner not registered'),
  /** The window seed assigns the miner to another subnet than the one it hands from. */
  notAssigned: registerError(SUBNET_CODESPACE, 8, 'miner not assigned to subnet'),
  /** Subnet k is the last one: there is no k+1 to hand an activation to. */
  noNextSubnet: registerError(SUBNET_CODESPACE, 9, 'no next subnet'),
  /** Not a CIDv1 / raw / sha2-256 CID in canonical base32. */
  invalidCid: registerError(SUBNET_CODESPACE, 10, 'invalid CID'),
  /** The activation hash is not 32 bytes. */
  invalidHash: registerError(SUBNET_CODESPACE, 11, 'invalid hash length'),
  /** The miner already handed an activation in this window, or the CID was already handed. */
  duplicateActivation: registerError(SUBNET_CODESPACE, 12, 'duplicate activation'),
} as const;
