/**
 * The API bench's create load (bench/api.bench.ts, issue #4), for benches that put it under
 * something else: a fixed number of creators, each sending its next create as soon as its previous
 * one is answered (closed loop: the server's own pace sets the rate), over a warm-up and then a
 * measured run, against a FIFO workspace whose Available workers have enough capacity that every
 * task is reserved by its own create.
 */

/** The API bench's parameters (its defaults; bench/api.bench.ts reads the same env names). */
export interface ApiCreateLoad {
  /** Creators, each with one request in flight (BENCH_CONCURRENCY, default 16). */
  concurrency: number;
  /** Tasks in the measured run (BENCH_TASKS, default 20,000). */
  tasks: number;
  /** Tasks created before it, not measured (BENCH_WARMUP, default 2,000). */
  warmup: number;
  /** Each worker's `default` channel capacity (50, as the API bench). */
  capacity: number;
}

/** The API bench's parameters from the environment, with its defaults. */
export function apiCreateLoad(env: NodeJS.ProcessEnv = process.env): ApiCreateLoad {
  return {
    concurrency: Number(env['BENCH_CONCURRENCY'] ?? 16),
    tasks: Number(env['BENCH_TASKS'] ?? 20_000),
    warmup: Number(env['BENCH_WARMUP'] ?? 2_000),
    capacity: 50,
  };
}

/** The create's form, as the API bench sends it: only Attributes (`{"n":i}`), the workspace's one workflow routes it. */
export function createForm(i: number): string {
  return `Attributes=${encodeURIComponent(`{"n":${i}}`)}`;
}

/**
 * Runs `count` creates from `concurrency` closed-loop creators: `create(i)` for i = 0…count−1, each
 * creator awaiting its create before taking the next index. Resolves when all are answered; a
 * rejected create rejects the whole run (as in the API bench) unless `create` catches it.
 */
export async function closedLoop(count: number, concurrency: number, create: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await create(i);
    }),
  );
}
