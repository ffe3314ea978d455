#!/usr/bin/env node
// Raw argon2id verifications/s, 8 at a time, for `pnpm bench`: run as a process of its own, with the
// auth service's libuv thread count, so the comparison with logins is like for like. Reads the hash
// and the password from ARGON2_HASH / ARGON2_PASSWORD; prints `{"perSecond": n}`.
import { verify } from '@node-rs/argon2';

const { ARGON2_HASH: hash, ARGON2_PASSWORD: password } = process.env;
const seconds = 5;
let done = 0;
const until = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      if (!(await verify(hash, password))) throw new Error('the hash does not verify');
      done++;
    }
  }),
);
console.log(JSON.stringify({ perSecond: Math.round(done / seconds) }));
