import { describe, expect, it } from 'vitest';
import { cryptoRandomSource } from '../../src/privacy/random-source.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

describe.each([
  ['crypto', cryptoRandomSource],
  ['seeded (tests only)', seededRandomSource(42)],
])('random source: %s', (_name, random) => {
  it('stays in range for small, 2^48-sized and huge bounds', () => {
    for (const bound of [1n, 2n, 6n, 2n ** 32n + 1n, 2n ** 48n, 2n ** 48n + 3n, 3n ** 100n]) {
      for (let i = 0; i < 200; i += 1) {
        const x = random.uniformBigInt(bound);
        expect(x >= 0n && x < bound).toBe(true);
      }
    }
  });

  it('is uniform over a small range', () => {
    const counts = new Map<bigint, number>();
    for (let i = 0; i < 60_000; i += 1) {
      const face = random.uniformBigInt(6n);
      counts.set(face, (counts.get(face) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // ±10% is more than 10 standard deviations: no flake even for the unseeded source.
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(1_000);
  });

  it('rejects a non-positive bound', () => {
    expect(() => random.uniformBigInt(0n)).toThrow(RangeError);
  });
});

describe('seeded source', () => {
  it('replays the same stream for the same seed', () => {
    const a = seededRandomSource(1);
    const b = seededRandomSource(1);
    const draw = (r: typeof a) => Array.from({ length: 20 }, () => r.uniformBigInt(1000n));
    expect(draw(a)).toEqual(draw(b));
    expect(draw(seededRandomSource(2))).not.toEqual(draw(seededRandomSource(1)));
  });
});

describe('production code', () => {
  it('never imports the seeded source', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const files = (await readdir('src', { recursive: true })).filter((f) => f.endsWith('.ts'));
    for (const file of files) expect(await readFile(`src/${file}`, 'utf8')).not.toContain('seeded-random-source');
  });
});
