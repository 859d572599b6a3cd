/**
 * Errors of the model module (codespace `model`), registered once here. Codes are part of the
 * wire contract: never renumber, only append. Each check raises exactly one of these; malformed
 * addresses and coins and a short balance keep their `sdk` codes (7, 10, 5).
 */
import { registerError } from '../../app/core/errors.ts';

export const MODEL_CODESPACE = 'model';

export const modelErrors = {
  /** A parameter value (from genesis or a parameter-change proposal) breaks a rule. */
  invalidParams: registerError(MODEL_CODESPACE, 2, 'invalid model params'),
  /** Architecture dimensions outside what the worker's kernels support. */
  invalidArchitecture: registerError(MODEL_CODESPACE, 3, 'invalid model architecture'),
  /** LoRA rank, alpha or targets out of range. */
  invalidLora: registerError(MODEL_CODESPACE, 4, 'invalid LoRA config'),
  /** Neither or both of backbone seed and model CID, or a malformed one. */
  invalidBackbone: registerError(MODEL_CODESPACE, 5, 'invalid backbone'),
  /** No content kind, or a malformed new-version / parameter-change content. */
  invalidProposalContent: registerError(MODEL_CODESPACE, 6, 'invalid proposal content'),
  /** Title empty or too long, summary too long. */
  invalidProposalText: registerError(MODEL_CODESPACE, 7, 'invalid proposal title or summary'),
  /** A parameter change names a module that has no governable params. */
  unknownParamsModule: registerError(MODEL_CODESPACE, 8, 'unknown params module'),
  /** The deposit is not one coin of the deposit denom of at least min_deposit. */
  insufficientDeposit: registerError(MODEL_CODESPACE, 9, 'insufficient deposit'),
  /** No proposal with this id. */
  unknownProposal: registerError(MODEL_CODESPACE, 10, 'unknown proposal'),
  /** The proposal's voting period is over. */
  inactiveProposal: registerError(MODEL_CODESPACE, 11, 'proposal not in voting period'),
  /** Vote option unspecified or unknown. */
  invalidVoteOption: registerError(MODEL_CODESPACE, 12, 'invalid vote option'),
  /** No model version with this number. */
  unknownVersion: registerError(MODEL_CODESPACE, 13, 'unknown model version'),
  /** A new version passed while another is still migrating: its execution fails. */
  migrationInProgress: registerError(MODEL_CODESPACE, 14, 'a model version migration is in progress'),
  /** Genesis state inconsistent (ordering, statuses, ids). */
  invalidGenesis: registerError(MODEL_CODESPACE, 15, 'invalid model genesis'),
  /**
   * A parameter change refused at submission: the params the module would have after it break a
   * rule of that module (its own validator, a check against state, or a constraint across modules).
   * The message names the module and the module's own error (`<codespace>/<code>: …`).
   */
  invalidParamChange: registerError(MODEL_CODESPACE, 16, 'invalid parameter change'),
  /**
   * A dataset registration that breaks a rule: malformed manifest / tokenizer CID, vocab_size or
   * chunk counts out of range, or (against state) a model version that is missing, deprecated or
   * of another vocab_size.
   */
  invalidDataset: registerError(MODEL_CODESPACE, 17, 'invalid dataset'),
  /** A dataset whose manifest CID is already registered. */
  duplicateDataset: registerError(MODEL_CODESPACE, 18, 'dataset already registered'),
  /** No dataset with this id (query). */
  unknownDataset: registerError(MODEL_CODESPACE, 19, 'unknown dataset'),
  /**
   * A head rollback refused at submission (the target is not an applied window of the active
   * version still in the head, or no training module is wired); the message names training's error.
   */
  invalidHeadRollback: registerError(MODEL_CODESPACE, 20, 'invalid head rollback'),
} as const;
