import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { chargePsiEpsilon } from '../../src/room/psi-epsilon-budget.ts';
import { StateDb } from '../../src/store/state-db.ts';
import { expectRefusal } from '../psi/helpers.ts';

let dir: string;
let state: StateDb;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanroom-psi-epsilon-'));
  state = await StateDb.open(join(dir, 'state.duckdb'));
});
afterAll(async () => {
  state.close();
  await rm(dir, { recursive: true, force: true });
});

const rule = (epsilon: number, epsilonBudget: number, client = 'globex') =>
  parsePsiRule({
    server: 'acme',
    client,
    minSetSize: 10,
    maxSessionsPerDay: 100,
    sessionTtlSeconds: 60,
    normalisation: 'email',
    epsilon,
    epsilonBudget,
  });

/** How many sessions the budget admits before PSI_BUDGET_EXHAUSTED. */
async function sessionsAdmitted(collaboration: string, epsilon: number, budget: number): Promise<number> {
  for (let n = 0; n < 1000; n += 1) {
    try {
      await state.write((tx) => chargePsiEpsilon(tx, collaboration, rule(epsilon, budget)));
    } catch (error) {
      await expectRefusal(Promise.reject(error), 'PSI_BUDGET_EXHAUSTED', 429);
      return n;
    }
  }
  return 1000;
}

describe('the PSI ε budget per member pair', () => {
  it('admits budget/ε sessions whatever the scale of ε (a float sum of 0.1s too)', async () => {
    expect(await sessionsAdmitted('c1', 0.5, 5)).toBe(10);
    expect(await sessionsAdmitted('c2', 0.1, 1)).toBe(10);
    expect(await sessionsAdmitted('c3', 1e-10, 1e-10)).toBe(1);
    expect(await sessionsAdmitted('c4', 3e-7, 1e-6)).toBe(3);
  });

  it('keeps pairs and collaborations apart', async () => {
    await state.write((tx) => chargePsiEpsilon(tx, 'c5', rule(2, 2)));
    await expectRefusal(
      state.write((tx) => chargePsiEpsilon(tx, 'c5', rule(2, 2))),
      'PSI_BUDGET_EXHAUSTED',
      429,
    );
    expect(await state.write((tx) => chargePsiEpsilon(tx, 'c5', rule(2, 2, 'initech')))).toBe(2);
    expect(await state.write((tx) => chargePsiEpsilon(tx, 'c6', rule(2, 2)))).toBe(2);
  });
});
