import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAttackRoom, type AttackRoom } from './attack-oracle.ts';
import { queries } from './query-grammar.ts';

/**
 * Generated attacks: thousands of queries from a grammar of the allowed language and its near
 * misses (views over views to depth 4, joins of every kind with views on either side, semi-joins,
 * filters pinning real people, type hazards, every aggregate, GROUP BY / HAVING / ORDER BY /
 * LIMIT, threshold and DP). Every release is recomputed on the raw tables; every refusal is scanned
 * for raw values. `npm run fuzz` runs the long version; a failure prints the seed and path to
 * replay it (FUZZ_SEED, FUZZ_PATH).
 */
const runs = Number(process.env.FUZZ_RUNS ?? 1500);
const seconds = Number(process.env.FUZZ_SECONDS ?? 120);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 8_2026;

let attack: AttackRoom;

beforeAll(async () => {
  attack = await openAttackRoom();
}, 120_000);
afterAll(async () => attack?.close());

describe('generated attacks', () => {
  it(
    `releases no group under its minimum and no raw value, over ${runs} generated queries (seed ${seed})`,
    async () => {
      const started = Date.now();
      let executed = 0;
      await fc.assert(
        fc.asyncProperty(queries(attack.data), async (query) => {
          executed += 1;
          await attack.check(query, await attack.send(query));
        }),
        {
          seed,
          numRuns: runs,
          interruptAfterTimeLimit: seconds * 1000,
          markInterruptAsFailure: false,
          ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
        },
      );
      const summary = Object.entries(attack.stats)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      const elapsed = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`generated attacks: ${executed} queries in ${elapsed} s (seed ${seed}); ${summary}`);
      // A grammar that only produced refusals would prove nothing about releases.
      expect(attack.stats['threshold released groups'] ?? 0).toBeGreaterThan(executed / 10);
      expect(attack.stats['dp released groups'] ?? 0).toBeGreaterThan(0);
    },
    (seconds + 120) * 1000,
  );
});
