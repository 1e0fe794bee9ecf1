import { createHash } from 'node:crypto';

const pick = <T>(values: readonly T[], i: number): T => values[i % values.length] as T;

/** A small advertiser_customers CSV; `marker` is planted in one phone number for leak tests. */
export function customersCsv(rows: number, options: { seed?: number; marker?: string } = {}): string {
  const seed = options.seed ?? 1;
  const lines = [
    'email_hash,phone,age_band,country,loyalty_tier,signup_date,zip_code,birth_year,purchases,purchase_value,converted',
  ];
  for (let i = 0; i < rows; i++) {
    const email = createHash('sha256').update(`person${i}@example.com`).digest('hex');
    const phone = i === 0 && options.marker ? options.marker : `+4479${String(10_000_000 + i * 7 + seed).slice(-8)}`;
    lines.push(
      [
        email,
        phone,
        pick(['18-24', '25-34', '35-44'], i),
        pick(['GB', 'DE', 'FR'], i >> 1),
        pick(['none', 'gold'], i >> 2),
        `2024-0${(i % 9) + 1}-1${i % 9}`,
        String(10000 + (i % 50)),
        String(1980 + (i % 30)),
        String(i % 7),
        ((i % 13) * 10.5).toFixed(2),
        String(i % 5 === 0 ? 1 : 0),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A small publisher_impressions CSV over the same people (every other customer is exposed). */
export function impressionsCsv(rows: number): string {
  const lines = ['email_hash,ip_address,impression_date,campaign,segment,device,clicks,view_seconds'];
  for (let i = 0; i < rows; i++) {
    const person = (i * 2) % Math.max(2, Math.floor(rows / 2));
    const email = createHash('sha256').update(`person${person}@example.com`).digest('hex');
    lines.push(
      [
        email,
        `192.0.2.${i % 250}`,
        `2025-11-${String((i % 28) + 1).padStart(2, '0')}`,
        pick(['spring_sale', 'holiday'], i),
        pick(['sports', 'travel', 'tech'], person),
        pick(['mobile', 'desktop'], i),
        String(i % 20 === 0 ? 1 : 0),
        ((i % 60) + 0.5).toFixed(1),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
