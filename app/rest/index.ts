/** Public surface of the REST server; see README.md. */
export { buildRestServer, type RestServerOptions } from './server.ts';
export { RestContext, type RegisterRoutes, type ProtoEncoder, type ProtoDecoder, type QueryAnswer } from './context.ts';
export { CometRpc } from './rpc.ts';
export type {
  RpcResult,
  RpcError,
  RpcErrorKind,
  AbciQueryOptions,
  AbciQueryResult,
  BroadcastTxResult,
  TxResult,
  ExecTxResult,
  TxSearchOptions,
  TxSearchResult,
  StatusResult,
  BlockHeaderResult,
  CometRpcOptions,
} from './rpc.ts';
export { RestError, GrpcCode, badRequest, notFound, fromAbciQuery, fromRpcError, type RestErrorBody } from './errors.ts';
export { registerAnyType, protoToJson, toCosmosJson, anyToJson, type Json, type JsonObject, type ProtoCodec } from './json.ts';
export { checkAddress, decodeBase64, checkTxHash, parseHeightHeader, parsePagination } from './validate.ts';
export * as schemas from './schemas.ts';
