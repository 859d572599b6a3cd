/**
 * One spelling per amount (issue 12): decimal digits without a leading zero, "0" for zero. As the
 * Cosmos SDK's math.Int refuses "007" in JSON, every amount parser of the chain refuses it, so a
 * Coin with amount "007" is never the same coin as "7" (two encodings, one meaning). The tx
 * pipeline's view (MsgSend amounts and the fee) is in ante.test.ts.
 */
import t, { type Test } from 'tap';
import { ChainError } from '../../app/core/errors.ts';
import { parseAmount, parseCoins, parseCoinString } from '../../app/core/coins.ts';
import { parsePositiveAmount } from '../../modules/staking/keeper.ts';
import { defaultStakingParams, stakingParamsFromJson } from '../../modules/staking/params.ts';
import { Params as StakingParams } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { defaultRewardsParams, rewardsParamsFromJson } from '../../modules/rewards/params.ts';
import { Params as RewardsParams } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { defaultModelParams, paramsFromJson as modelParamsFromJson, paramsToJson as modelParamsToJson } from '../../modules/model/params.ts';
import { defaultParams as trainingDefaults, paramsFromJson as trainingParamsFromJson, paramsToJson as trainingParamsToJson } from '../../modules/training/params.ts';
import { parseAmount as parseVerificationAmount } from '../../modules/verification/params.ts';
import { verificationErrors } from '../../modules/verification/errors.ts';

function refused(t: Test, fn: () => unknown, codespace: string, code: number, message: RegExp, what: string): void {
  try {
    fn();
    t.fail(`${what}: accepted`);
  } catch (error) {
    t.ok(error instanceof ChainError, `${what}: a ChainError`);
    const e = error as ChainError;
    t.equal(`${e.codespace}/${e.code}`, `${codespace}/${code}`, `${what}: ${codespace}/${code}`);
    t.match(e.message, message, `${what}: ${e.message}`);
  }
}

t.test('kernel: parseAmount, parseCoins, parseCoinString', (t) => {
  t.equal(parseAmount('0'), 0n, '"0" is zero');
  t.equal(parseAmount('7'), 7n);
  t.equal(parseAmount('100'), 100n, 'zeros after the first digit are fine');
  refused(t, () => parseAmount('007', 'fee amount'), 'sdk', 10, /fee amount "007" has a leading zero/, 'parseAmount 007');
  refused(t, () => parseAmount('00'), 'sdk', 10, /amount "00" has a leading zero/, 'parseAmount 00');
  refused(t, () => parseCoins([{ denom: 'ur3mes', amount: '007' }], { what: 'MsgSend amount' }), 'sdk', 10, /MsgSend amount: ur3mes amount "007" has a leading zero/, 'parseCoins');
  refused(t, () => parseCoins([{ denom: 'ur3mes', amount: '00' }], { allowZero: true }), 'sdk', 10, /"00" has a leading zero/, 'parseCoins allowZero 00');
  t.same(parseCoins([{ denom: 'ur3mes', amount: '0' }], { allowZero: true }), [{ denom: 'ur3mes', amount: 0n }], '"0" where zero is allowed');
  refused(t, () => parseCoinString('0100ur3mes'), 'sdk', 10, /"0100" has a leading zero/, 'parseCoinString');
  t.same(parseCoinString('100ur3mes'), [{ denom: 'ur3mes', amount: 100n }]);
  t.end();
});

t.test('staking: message amounts and params', (t) => {
  t.equal(parsePositiveAmount('5', 'amount'), 5n);
  refused(t, () => parsePositiveAmount('05', 'amount'), 'staking', 8, /amount "05" has a leading zero/, 'MsgDelegate amount');
  const json = StakingParams.toJSON({ ...defaultStakingParams }) as Record<string, unknown>;
  t.ok(stakingParamsFromJson(json), 'defaults accepted');
  refused(t, () => stakingParamsFromJson({ ...json, minSelfStake: '01000000' }), 'staking', 21, /minSelfStake "01000000" has a leading zero/, 'minSelfStake');
  t.end();
});

t.test('rewards params', (t) => {
  const json = RewardsParams.toJSON({ ...defaultRewardsParams }) as Record<string, unknown>;
  t.ok(rewardsParamsFromJson(json), 'defaults accepted');
  refused(t, () => rewardsParamsFromJson({ ...json, rewardPerWindow: '0' + String(json.rewardPerWindow) }), 'rewards', 5, /rewardPerWindow .* leading zero/, 'rewardPerWindow');
  t.ok(rewardsParamsFromJson({ ...json, rewardPerWindow: '0' }), '"0" stays valid');
  t.end();
});

t.test('model, training and verification params', (t) => {
  const model = modelParamsToJson(defaultModelParams()) as unknown as Record<string, unknown>;
  refused(t, () => modelParamsFromJson({ ...model, minDeposit: '010000000' }), 'model', 2, /minDeposit "010000000" has a leading zero/, 'model minDeposit');
  const training = trainingParamsToJson(trainingDefaults());
  refused(t, () => trainingParamsFromJson({ ...training, baseReward: '01' }), 'training', 2, /baseReward "01"/, 'training baseReward');
  t.ok(trainingParamsFromJson({ ...training, baseReward: '0' }), 'training baseReward "0"');
  // verification's amounts are in messages (a dispute's bond): its parseAmount already refused "07".
  refused(t, () => parseVerificationAmount('07', 'bond', verificationErrors.invalidBond), 'verification', verificationErrors.invalidBond('').code, /bond "07" is not a decimal integer/, 'verification bond');
  t.end();
});
