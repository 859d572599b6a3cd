/**
 * Consensus order at the ABCI edge (rules in app/abci/README.md, "Consensus order"). The gate
 * knows heights and connections, nothing about state: it learns the last committed height from
 * the app's own Info answer and follows it through FinalizeBlock and Commit.
 *
 * - The consensus connection is the first connection whose consensus request is accepted; it
 *   keeps the role until it ends or closes. While it is open, a consensus request on any other
 *   connection is refused.
 * - InitChain only while nothing is committed (CometBFT re-sends it after a restart before the
 *   first Commit); it sets the first block's height (initial_height, at least 1).
 * - FinalizeBlock only for the next height: last committed + 1, or before the first Commit the
 *   InitChain's initial height. The same height may be finalized again before Commit (CometBFT's
 *   handshake replays the block after a crash; the app discards what the first run staged).
 * - Commit only after a FinalizeBlock since the last Commit, on the same connection.
 * - PrepareProposal, ProcessProposal, ExtendVote, VerifyVoteExtension only for the next height
 *   and not between FinalizeBlock and Commit.
 */
import type { Request } from 'cosmjs-types/tendermint/abci/types';

/** A consensus request the gate refuses; the connection answers it with an exception and closes. */
export class ConsensusOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsensusOrderError';
  }
}

export type ConsensusKind =
  | 'initChain' | 'prepareProposal' | 'processProposal' | 'extendVote'
  | 'verifyVoteExtension' | 'finalizeBlock' | 'commit';

/** Identifies a connection: any object, compared by identity, with a number for messages. */
export interface GateConnection {
  readonly id: number;
}

type MaybePromise<T> = T | Promise<T>;

export class ConsensusGate<C extends GateConnection = GateConnection> {
  /** The consensus connection, or null while none has claimed the role. */
  private owner: C | null = null;
  /** Last committed height, as the app's Info reported it and Commits advanced it; undefined = ask again. */
  private committed: bigint | undefined = undefined;
  /** The first block's height from InitChain, until the first Commit. */
  private initialHeight: bigint | undefined = undefined;
  /** The height finalized since the last Commit, and on which connection. */
  private finalized: { height: bigint; conn: C } | undefined = undefined;
  /** Connections that ended or closed: they can no longer claim the role. */
  private readonly released = new WeakSet<C>();

  /** `lastHeight` asks the app for its last committed height (Info's last_block_height). */
  constructor(private readonly lastHeight: () => MaybePromise<bigint>) {}

  /** The consensus connection's id, or null. */
  get ownerId(): number | null {
    return this.owner?.id ?? null;
  }

  /**
   * Runs `call` if `kind` is in order on `conn`, and advances the order by its outcome; throws
   * ConsensusOrderError (without calling) when it is not. The caller serialises consensus calls.
   */
  async run<T>(conn: C, kind: ConsensusKind, req: Request, call: () => MaybePromise<T>): Promise<T> {
    this.checkConnection(kind, conn);
    if (this.committed === undefined) {
      this.committed = await this.lastHeight();
      this.checkConnection(kind, conn); // it may have closed, or another claimed the role, meanwhile
    }
    const committed = this.committed;
    let height: bigint | undefined;
    switch (kind) {
      case 'initChain':
        if (committed !== 0n) throw new ConsensusOrderError(`InitChain refused: height ${committed} is already committed`);
        if (this.finalized !== undefined) throw new ConsensusOrderError(`InitChain refused: block ${this.finalized.height} is finalized and not committed`);
        break;
      case 'commit':
        if (this.finalized === undefined) throw new ConsensusOrderError(`Commit refused: no FinalizeBlock since the last Commit (height ${committed})`);
        if (this.finalized.conn !== conn) throw new ConsensusOrderError(`Commit refused: block ${this.finalized.height} was finalized on another connection`);
        height = this.finalized.height;
        break;
      case 'finalizeBlock':
        height = this.expect(kind, req.finalizeBlock!.height, committed);
        break;
      default: {
        const h = req[kind]!.height;
        if (this.finalized !== undefined) {
          throw new ConsensusOrderError(`${kind} refused: block ${this.finalized.height} is finalized and not committed`);
        }
        this.expect(kind, h, committed);
      }
    }
    this.owner ??= conn;
    let result: T;
    try {
      result = await call();
    } catch (err) {
      // The app failed half way, perhaps: learn its height again before the next consensus call.
      this.committed = undefined;
      this.finalized = undefined;
      throw err;
    }
    if (kind === 'initChain') {
      const initial = req.initChain!.initialHeight;
      this.initialHeight = initial > 0n ? initial : 1n;
    } else if (kind === 'finalizeBlock') {
      // A connection that closed during the call can send no Commit: its block stays unfinalized.
      if (!this.released.has(conn)) this.finalized = { height: height!, conn };
    } else if (kind === 'commit') {
      this.committed = height!;
      this.finalized = undefined;
      this.initialHeight = undefined;
    }
    return result;
  }

  private checkConnection(kind: ConsensusKind, conn: C): void {
    if (this.released.has(conn)) throw new ConsensusOrderError(`${kind} refused: connection ${conn.id} has closed`);
    if (this.owner !== null && this.owner !== conn) {
      throw new ConsensusOrderError(`${kind} refused: connection ${conn.id} is not the consensus connection (connection ${this.owner.id} is)`);
    }
  }

  /** The height the next block must have; throws when `height` is not it. */
  private expect(kind: ConsensusKind, height: bigint, committed: bigint): bigint {
    let next: bigint;
    if (committed > 0n) next = committed + 1n;
    else if (this.initialHeight !== undefined) next = this.initialHeight;
    else throw new ConsensusOrderError(`${kind} refused: nothing is committed and no InitChain came first`);
    if (height !== next) throw new ConsensusOrderError(`${kind} refused: height ${height}, expected ${next} (last committed ${committed})`);
    return height;
  }

  /** A connection ended or closed: if it was the consensus connection, the role is free again. */
  release(conn: C): void {
    this.released.add(conn);
    if (this.finalized?.conn === conn) this.finalized = undefined;
    if (this.owner === conn) this.owner = null;
  }

  /** State may have changed outside consensus (a snapshot was restored): ask the app's height again. */
  forgetHeight(): void {
    this.committed = undefined;
  }
}
