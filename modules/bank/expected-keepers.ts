import type { AuthKeeper } from '../auth/keeper.ts';

/** What the bank needs from auth: recipients get an account on first receipt. */
export type BankAccountKeeper = Pick<AuthKeeper, 'ensureAccountExists'>;
