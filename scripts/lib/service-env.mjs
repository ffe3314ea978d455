import { availableParallelism } from 'node:os';

/**
 * The old generation's limit each service runs with, in MB. Their live heaps are tens of MB. V8 sizes
 * how far garbage may grow before a full collection by this limit: with Node's default (a share of
 * the machine's memory) to about four times the live heap, with 1 GB to well under twice (`pnpm
 * bench`: the event service's peak RSS under the claim load 216 → 176 MB; claims/s and CPU per claim
 * within the run-to-run noise, as with 8 GB; 512 MB gave 172 MB). The young generation keeps Node's
 * default (16 MB semi-spaces): 8 MB took the event service's peak from 182–184 to 164–169 MB, which it
 * does not need, and claims on the embedded server came to 88–95 % of those on the PostgreSQL server
 * against 89–96 % with 16 (four full runs each way; one of those with 16 came before WebAssembly was
 * kept on the baseline compiler): no gain in speed to set against the risk.
 */
const HEAP_LIMIT_MB = 1024;

/**
 * Settings that only take effect in the environment a service process starts with, so whatever
 * spawns it sets them (here `pnpm start` and the bench; in the image, docker/entrypoint.sh), each
 * unless already set:
 * - NODE_OPTIONS: the heap limit above;
 * - auth's UV_THREADPOOL_SIZE: one libuv thread per core, at least 2, for argon2id. libuv's default
 *   of 4 on a 2-core machine runs more hashes at once than there are cores, and they thrash each
 *   other's caches (232 verifications/s with 2 threads, 184 with 4).
 */
export function serviceEnv(app, env = process.env) {
  return {
    NODE_OPTIONS: env.NODE_OPTIONS || `--max-old-space-size=${HEAP_LIMIT_MB}`,
    ...(app === 'auth' ? { UV_THREADPOOL_SIZE: authThreadpoolSize(env) } : {}),
  };
}

export function authThreadpoolSize(env = process.env) {
  return env.UV_THREADPOOL_SIZE || String(Math.max(2, availableParallelism()));
}
