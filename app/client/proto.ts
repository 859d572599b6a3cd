/**
 * The generated protobuf messages of the R3MES modules (proto/gen, ts-proto), one namespace per
 * proto file: `trainingQuery.QueryWindowRequest`, `verificationTypes.Dispute`, `modelTx.MsgVote`.
 * Namespaces because the modules share message names (every module has `Params`, most have
 * `QueryParamsRequest`). Genesis files are the chain's business and are left out.
 */
export * as modelQuery from '../../proto/gen/r3mes/model/v1/query.ts';
export * as modelTx from '../../proto/gen/r3mes/model/v1/tx.ts';
export * as modelTypes from '../../proto/gen/r3mes/model/v1/types.ts';
export * as pocQuery from '../../proto/gen/r3mes/poc/v1/query.ts';
export * as pocTx from '../../proto/gen/r3mes/poc/v1/tx.ts';
export * as pocTypes from '../../proto/gen/r3mes/poc/v1/types.ts';
export * as randomnessQuery from '../../proto/gen/r3mes/randomness/v1/query.ts';
export * as randomnessTypes from '../../proto/gen/r3mes/randomness/v1/types.ts';
export * as rewardsQuery from '../../proto/gen/r3mes/rewards/v1/query.ts';
export * as rewardsTx from '../../proto/gen/r3mes/rewards/v1/tx.ts';
export * as rewardsTypes from '../../proto/gen/r3mes/rewards/v1/types.ts';
export * as stakingQuery from '../../proto/gen/r3mes/staking/v1/query.ts';
export * as stakingTx from '../../proto/gen/r3mes/staking/v1/tx.ts';
export * as stakingTypes from '../../proto/gen/r3mes/staking/v1/types.ts';
export * as subnetQuery from '../../proto/gen/r3mes/subnet/v1/query.ts';
export * as subnetTx from '../../proto/gen/r3mes/subnet/v1/tx.ts';
export * as subnetTypes from '../../proto/gen/r3mes/subnet/v1/types.ts';
export * as trainingQuery from '../../proto/gen/r3mes/training/v1/query.ts';
export * as trainingTx from '../../proto/gen/r3mes/training/v1/tx.ts';
export * as trainingTypes from '../../proto/gen/r3mes/training/v1/types.ts';
export * as verificationQuery from '../../proto/gen/r3mes/verification/v1/query.ts';
export * as verificationTx from '../../proto/gen/r3mes/verification/v1/tx.ts';
export * as verificationTypes from '../../proto/gen/r3mes/verification/v1/types.ts';

// The chain's records a worker reads, also by name (each name is both the message's interface
// and its codec, as in proto/gen; unique across the modules except training's `Params`, here
// `TrainingParams`).
export {
  AggregationCommit, Checkpoint as TrainingCheckpoint, Exclusion, ExclusionReason, Params as TrainingParams, Submission, SubmissionStatus, Window, WindowStatus,
} from '../../proto/gen/r3mes/training/v1/types.ts';
export { Dispute, DisputeStage, L1Check, L1Status, PanelSeat } from '../../proto/gen/r3mes/verification/v1/types.ts';
export { ModelVersion } from '../../proto/gen/r3mes/model/v1/types.ts';
