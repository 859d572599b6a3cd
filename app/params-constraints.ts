/**
 * Rules between the params of different modules, which no module can check alone (a module sees
 * only its own params). The params router (app/modules.ts) checks every rule that involves a
 * module after that module's own `set`, on the same layer: so a parameter change is refused at
 * submission (model/16, a dry run) and fails at execution (the proposal's layer is dropped) when
 * the params as they would be after it break a rule. Each rule names the code that would
 * otherwise misbehave. A genesis is checked module by module and does not run these rules.
 */
import type { ErrorKind } from './core/errors.ts';
import type { KVStore } from './core/store/types.ts';
import { trainingErrors } from '../modules/training/errors.ts';
import type { TrainingViewKeeper } from '../modules/training/keeper.ts';
import { verificationErrors } from '../modules/verification/errors.ts';
import type { VerificationViewKeeper } from '../modules/verification/keeper.ts';
import { pocErrors } from '../modules/poc/errors.ts';
import type { PocViewKeeper } from '../modules/poc/keeper.ts';

export interface ParamsConstraint {
  /** The modules whose params the rule reads: it is checked when any of them changes. */
  readonly modules: readonly string[];
  /** The reason the params break the rule, or undefined. */
  check(store: KVStore): string | undefined;
}

/** The invalid-params error of each module a rule can involve: a refusal is raised as the changed module's. */
export const invalidParamsOf: Readonly<Record<string, ErrorKind>> = {
  training: trainingErrors.invalidParams,
  verification: verificationErrors.invalidParams,
  poc: pocErrors.invalidParams,
};

export function paramsConstraints(keepers: { training: TrainingViewKeeper; verification: VerificationViewKeeper; poc?: PocViewKeeper }): ParamsConstraint[] {
  const poc = keepers.poc;
  return [
    ...(poc === undefined ? [] : [{
      // A drawn PoC verifier recomputes its sampled claims during the verification phase
      // (epoch_blocks − submit_blocks); it gets at least what an L1 verifier gets for a chunk, so a
      // verifier that is on time for verification is on time for PoC (modules/poc README "Params").
      modules: ['poc', 'verification'],
      check(store: KVStore): string | undefined {
        const params = poc.params(store);
        const phase = params.epochBlocks - params.submitBlocks;
        const l1 = keepers.verification.params(store).l1ResponseBlocks;
        if (phase >= l1) return undefined;
        return `poc verification phase epochBlocks − submitBlocks (${phase}) must be at least verification l1ResponseBlocks (${l1}): a drawn PoC verifier needs the time an L1 verifier gets`;
      },
    }]),
    {
      // An L1 check is drawn in the block that includes its submission, at the latest the last
      // collecting block (collect_end − 1); its reveal deadline, that + l1_response_blocks +
      // reveal_blocks (inclusive), must fall before the window's commit_start = collect_end +
      // challenge_period_blocks. Otherwise a mismatch flags a submission already accepted into the
      // aggregate (the dispute can no longer reject it), and a match revealed after the
      // submission seed was pruned is never confirmed, so never paid.
      modules: ['training', 'verification'],
      check(store) {
        const verification = keepers.verification.params(store);
        const l1 = verification.l1ResponseBlocks + verification.revealBlocks;
        let challenge = keepers.training.params(store).challengePeriodBlocks;
        let which = 'training challengePeriodBlocks';
        // The collecting window keeps the challenge period it opened with; its submissions get L1 checks now.
        const collecting = keepers.training.currentWindow(store);
        if (collecting !== undefined && collecting.commitStartHeight - collecting.collectEndHeight < challenge) {
          challenge = collecting.commitStartHeight - collecting.collectEndHeight;
          which = `the challenge period of collecting window ${collecting.id}`;
        }
        if (l1 <= challenge) return undefined;
        return `verification l1ResponseBlocks + revealBlocks (${l1}) must be at most ${which} (${challenge}): an L1 check of a submission in the last collecting block must end before the window's commit phase`;
      },
    },
  ];
}
