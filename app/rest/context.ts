/**
 * What a module's REST routes get: the CometBFT RPC client and a typed ABCI
 * query helper that turns every failure into a RestError (so handlers only
 * describe the happy path). Modules register routes with
 * `registerRoutes(app, ctx)`; see README.md.
 */
import type { FastifyInstance } from 'fastify';
import type { CometRpc } from './rpc.ts';
import { fromAbciQuery, fromRpcError, GrpcCode, RestError } from './errors.ts';

/** The encoder half of a cosmjs-types message codec. */
export interface ProtoEncoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** The decoder half of a cosmjs-types message codec. */
export interface ProtoDecoder<T> {
  decode(input: Uint8Array): T;
}

export interface QueryAnswer<T> {
  response: T;
  /** The height whose state answered the query. */
  height: bigint;
}

export class RestContext {
  constructor(
    readonly rpc: CometRpc,
    /** Bech32 prefix of account addresses (`r3mes`). */
    readonly bech32Prefix: string,
    /** Largest tx, in bytes, that broadcast and simulate accept (CometBFT's `max_tx_bytes`). */
    readonly maxTxBytes: number,
  ) {}

  /**
   * Runs a gRPC-style query over ABCI (`path` like `/cosmos.bank.v1beta1.Query/Balance`),
   * protobuf-encoding the request and decoding the response. Throws RestError:
   * 503 when the node is unreachable, the mapped status for a non-zero ABCI code.
   */
  async query<Req, Res>(
    path: string,
    requestCodec: ProtoEncoder<Req>,
    request: Req,
    responseCodec: ProtoDecoder<Res>,
    height?: bigint,
  ): Promise<QueryAnswer<Res>> {
    const answer = await this.rpc.abciQuery(path, requestCodec.encode(request).finish(), { height });
    if (!answer.ok) throw fromRpcError(answer.error);
    if (answer.value.code !== 0) throw fromAbciQuery(path, answer.value);
    try {
      return { response: responseCodec.decode(answer.value.value), height: answer.value.height };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new RestError(GrpcCode.Internal, `${path}: the app's answer does not decode (${reason})`, 502);
    }
  }
}

/** The signature every module's REST entry point has. */
export type RegisterRoutes = (app: FastifyInstance, ctx: RestContext) => void | Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by buildRestServer, so routes added later can reach the RPC client. */
    restContext: RestContext;
  }
}
