export type { KVReader, KVStore } from "../core/store/types.ts";
export { CacheStore } from "../core/store/cache.ts";
export { prefixStore } from "../core/store/prefix.ts";
export { CommitStore, DEFAULT_KEEP_RECENT, type CommitStoreOptions, type StateProof } from "./commit-store.ts";
export { verifyProof, decodeCommitmentProof } from "./proof.ts";
export { EMPTY_ROOT, leafHash, MerkleTree } from "./merkle.ts";
