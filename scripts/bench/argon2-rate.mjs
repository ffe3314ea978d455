#!/usr/bin/env node
// Raw argon2id verifications/s, 8 at a time, for `pnpm bench`: run as a process of its own, with the
// auth service's libuv thread count, so the comparison with logins is like for like. Reads the hash
// and the password from ARGON2_HASH / ARGON2_PASSWORD; prints `{"perSecond": n, "poolMsPerHash": ms}`,
// the second the CPU of libuv's pool (its busiest threads) per verification.
import { verify } from '@node-rs/argon2';
import { busiestThreadsMs, threadCpuMs } from '../lib/services.mjs';

const { ARGON2_HASH: hash, ARGON2_PASSWORD: password } = process.env;
const seconds = 5;
let done = 0;
const threadsBefore = threadCpuMs(process.pid);
const until = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      if (!(await verify(hash, password))) throw new Error('the hash does not verify');
      done++;
    }
  }),
);
const pool = busiestThreadsMs(threadsBefore, threadCpuMs(process.pid), Number(process.env.UV_THREADPOOL_SIZE));
console.log(JSON.stringify({ perSecond: Math.round(done / seconds), poolMsPerHash: pool.busiest / done }));
