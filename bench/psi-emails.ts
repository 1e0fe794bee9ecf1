// Two e-mail lists for PSI benchmarks at sizes the full fixture generator does not reach (its
// datasets at 10M customers are 40M impressions): only the PSI columns, with an exact overlap.
//
//   npx tsx bench/psi-emails.ts --rows 10000000 --out fixtures/large/psi-10m
//
// The publisher lists people 0 … rows−1, the advertiser people (1 − overlap)·rows … onward, so the
// two share overlap·rows distinct people. Every 7th address is written in upper case and every 11th
// twice (normalisation and dedupe are part of the work), as the full generator's PSI lists are.
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    overlap: { type: 'string', default: '0.8' },
    out: { type: 'string', default: 'fixtures/large/psi-10m' },
  },
});
const rows = Number(values.rows);
const overlapShare = Number(values.overlap);
if (!Number.isSafeInteger(rows) || rows < 10) throw new Error('--rows must be an integer ≥ 10');
if (!(overlapShare >= 0 && overlapShare <= 1)) throw new Error('--overlap must be between 0 and 1');
const out = values.out;
mkdirSync(out, { recursive: true });

/** A person's address; a multiplicative scramble so neighbouring people do not share prefixes. */
const address = (person: number) => {
  const tag = (Math.imul(person + 1, 2654435761) >>> 0).toString(36);
  const text = `p${person}.${tag}@example.com`;
  return person % 7 === 0 ? text.toUpperCase() : text;
};

async function write(file: string, first: number): Promise<number> {
  const stream = createWriteStream(join(out, file));
  let lines = 0;
  let batch = 'email\n';
  for (let person = first; person < first + rows; person += 1) {
    const line = `${address(person)}\n`;
    batch += person % 11 === 0 ? line + line : line;
    lines += person % 11 === 0 ? 2 : 1;
    if (batch.length > 1 << 20) {
      if (!stream.write(batch)) await once(stream, 'drain');
      batch = '';
    }
  }
  stream.end(batch);
  await once(stream, 'finish');
  return lines;
}

const start = Math.round((1 - overlapShare) * rows);
const publisher = await write('psi_publisher_emails.csv', 0);
const advertiser = await write('psi_advertiser_emails.csv', start);
const manifest = {
  generator: 'bench/psi-emails.ts',
  rows,
  files: { 'psi_publisher_emails.csv': publisher, 'psi_advertiser_emails.csv': advertiser },
  distinctPerSide: rows,
  overlap: rows - start,
};
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(JSON.stringify(manifest));
