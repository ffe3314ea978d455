import { setFlagsFromString } from 'node:v8';

/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff). Every service's HTTP client (undici, and
 * fetch, which is undici) parses answers with llhttp compiled to WebAssembly, and V8 would recompile
 * its one large parsing function with the optimizing compiler once connections get busy: a transient
 * ~30 MB that came on top of the heap at the busiest moment. Under `pnpm bench`'s claim load the event
 * service's peak RSS went from 193–202 MB to 182–183 MB without it; claims/s and CPU per claim stayed
 * within the run-to-run noise, and a send cost no more CPU (the answers it parses are a few hundred
 * bytes).
 * It applies to modules compiled after it (undici compiles llhttp at its first connection), so
 * createServiceApp calls it: a service's connections start with its app's jobs.
 */
export function keepWebAssemblyOnBaselineCompiler(): void {
  setFlagsFromString('--liftoff-only');
}
