/**
 * Builds verification's TrainingReader from the TrainingKeeper (the adapter app/modules.ts
 * hands in; tests use it over the real keeper too).
 */
import type { TrainingKeeper } from '../training/keeper.ts';
import { SubmissionStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import type { SubmissionStatusName, TrainingReader } from './expected-keepers.ts';

const STATUS: Record<number, SubmissionStatusName> = {
  [SubmissionStatus.SUBMISSION_STATUS_PENDING]: 'pending',
  [SubmissionStatus.SUBMISSION_STATUS_ACCEPTED]: 'accepted',
  [SubmissionStatus.SUBMISSION_STATUS_REJECTED]: 'rejected',
};

export function trainingReader(training: Pick<TrainingKeeper, 'submission' | 'window' | 'schedule' | 'rejectSubmission'>): TrainingReader {
  return {
    submission(store, submissionId) {
      const submission = training.submission(store, submissionId);
      if (submission === undefined) return undefined;
      return {
        id: submission.id, miner: submission.miner, windowId: submission.windowId, gradientCid: submission.gradientCid,
        gradientHash: submission.gradientHash, status: STATUS[submission.status] ?? 'rejected', height: submission.height,
      };
    },
    window(store, windowId) {
      const window = training.window(store, windowId);
      if (window === undefined) return undefined;
      return { commitStartHeight: window.commitStartHeight, baseReward: BigInt(window.baseReward) };
    },
    nextSubmissionId: (store) => training.schedule(store).nextSubmissionId,
    rejectSubmission: (ctx, submissionId, reason) => training.rejectSubmission(ctx, submissionId, reason),
  };
}
