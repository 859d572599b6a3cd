/**
 * REST errors in the Cosmos gRPC-gateway shape: `{ code, message, details: [] }`,
 * where `code` is the gRPC status code the Cosmos SDK's gateway would report
 * and the HTTP status follows the gateway's gRPC → HTTP table.
 */
import type { AbciQueryResult, RpcError } from './rpc.ts';

/** gRPC status codes (google.golang.org/grpc/codes) the REST layer uses. */
export const GrpcCode = {
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  PermissionDenied: 7,
  FailedPrecondition: 9,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const httpStatusOfGrpc: Record<GrpcCode, number> = {
  [GrpcCode.Unknown]: 500,
  [GrpcCode.InvalidArgument]: 400,
  [GrpcCode.DeadlineExceeded]: 504,
  [GrpcCode.NotFound]: 404,
  [GrpcCode.PermissionDenied]: 403,
  [GrpcCode.FailedPrecondition]: 400,
  [GrpcCode.Unimplemented]: 501,
  [GrpcCode.Internal]: 500,
  [GrpcCode.Unavailable]: 503,
  [GrpcCode.Unauthenticated]: 401,
};

export interface RestErrorBody {
  code: number;
  message: string;
  details: unknown[];
}

/** Thrown by route handlers; the server's error handler renders it. */
export class RestError extends Error {
  readonly grpcCode: GrpcCode;
  readonly httpStatus: number;

  constructor(grpcCode: GrpcCode, message: string, httpStatus?: number) {
    super(message);
    this.name = 'RestError';
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus ?? httpStatusOfGrpc[grpcCode];
  }

  toBody(): RestErrorBody {
    return { code: this.grpcCode, message: this.message, details: [] };
  }
}

export function badRequest(message: string): RestError {
  return new RestError(GrpcCode.InvalidArgument, message);
}

export function notFound(message: string): RestError {
  return new RestError(GrpcCode.NotFound, message);
}

/** A failed CometBFT RPC call: unreachable node or timeout → 503, a node answering nonsense → 502. */
export function fromRpcError(error: RpcError): RestError {
  switch (error.kind) {
    case 'timeout':
      return new RestError(GrpcCode.DeadlineExceeded, error.message, 503);
    case 'unreachable':
      return new RestError(GrpcCode.Unavailable, error.message, 503);
    case 'http':
    case 'malformed':
      return new RestError(GrpcCode.Unavailable, error.message, 502);
    case 'rpc':
      // A JSON-RPC error that a route did not interpret itself: the node refused the call.
      return new RestError(GrpcCode.Unknown, error.message, 502);
  }
}

/**
 * Codes of the `sdk` codespace (cosmos-sdk types/errors) grouped by the gRPC
 * status the gateway reports for them. Anything not listed in a group is
 * treated as a bad request: a query or simulation that the app refuses is, in
 * nearly every case, a problem with what the client asked.
 */
const sdkNotFound = new Set([9 /* unknown address */, 22 /* key not found */]);
const sdkInternal = new Set([1 /* internal */, 35 /* logic */, 39 /* io */, 40 /* app config */, 111222 /* panic */]);
const sdkUnauthorized = new Set([4 /* unauthorized */]);

/** Maps a non-zero ABCI query answer to a RestError. */
export function fromAbciQuery(path: string, answer: AbciQueryResult): RestError {
  const reason = answer.log || answer.info || 'query failed';
  const message = `${reason}: ${answer.codespace || 'undefined'} code ${answer.code}`;
  if (answer.codespace === 'sdk' || answer.codespace === '' || answer.codespace === 'undefined') {
    if (sdkNotFound.has(answer.code)) return new RestError(GrpcCode.NotFound, message);
    if (answer.codespace === 'sdk' && sdkInternal.has(answer.code)) return new RestError(GrpcCode.Internal, message);
    if (answer.codespace !== 'sdk' && answer.code === 1) return new RestError(GrpcCode.Internal, message);
    if (answer.codespace === 'sdk' && sdkUnauthorized.has(answer.code)) return new RestError(GrpcCode.Unauthenticated, message);
  }
  if (/unknown query path|not implemented|unimplemented/i.test(reason)) {
    return new RestError(GrpcCode.Unimplemented, `${path}: ${message}`);
  }
  if (/not found/i.test(reason)) return new RestError(GrpcCode.NotFound, message);
  return new RestError(GrpcCode.InvalidArgument, message);
}
