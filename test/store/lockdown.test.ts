import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';
import { DataEngine } from '../../src/store/data-engine.ts';
import { openPlanner } from '../query/support-planner.ts';

let staging: string;
let engine: DataEngine;

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CleanroomError ? `${error.code}: ${JSON.stringify(error.details)}` : String(error);
  }
  return 'succeeded';
}

beforeAll(async () => {
  staging = await mkdtemp(join(tmpdir(), 'cleanroom-lockdown-'));
  engine = await DataEngine.open({
    stagingDirectory: staging,
    memoryLimit: '64MB',
    threads: 1,
    statementTimeoutMs: 300,
  });
});
afterAll(async () => {
  engine.close();
  await rm(staging, { recursive: true, force: true });
});

describe('the locked-down engine (defence below the checker)', () => {
  it('cannot read files outside the staging directory', async () => {
    expect(await failure(engine.query("SELECT * FROM read_csv('/etc/passwd')"))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(await failure(engine.query("SELECT * FROM read_text('/etc/hostname')"))).toMatch(/QUERY_RUNTIME_ERROR/);
  });

  it('has the .tmp hole closed: no COPY into the default temp directory, and spilling is off', async () => {
    expect(await failure(engine.query("COPY (SELECT 42 AS x) TO '.tmp/leak.csv'"))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(existsSync('.tmp/leak.csv')).toBe(false);
    const setting = await engine.query("SELECT current_setting('temp_directory')");
    expect(setting.rows[0]?.[0]).toBe('');
  });

  it('cannot change its configuration, attach databases or load extensions', async () => {
    expect(await failure(engine.query('SET enable_external_access = true'))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(await failure(engine.query("SET temp_directory = '/tmp'"))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(await failure(engine.query("ATTACH '/tmp/other.duckdb' AS other"))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(await failure(engine.query('INSTALL httpfs'))).toMatch(/QUERY_RUNTIME_ERROR/);
    expect(await failure(engine.query('LOAD httpfs'))).toMatch(/QUERY_RUNTIME_ERROR/);
  });

  it('stops a query at the statement timeout with a clear error', async () => {
    expect(await failure(engine.query('SELECT count(*) FROM range(1000000000000) a'))).toMatch(/^QUERY_TIMEOUT/);
  });

  it('fails a query over the memory limit clearly instead of spilling', async () => {
    const roomy = await DataEngine.open({
      stagingDirectory: staging,
      memoryLimit: '64MB',
      threads: 1,
      statementTimeoutMs: 60_000,
    });
    try {
      const result = await failure(
        roomy.query("SELECT count(DISTINCT i::VARCHAR || 'padding-padding-padding') FROM range(30000000) t(i)"),
      );
      expect(result).toMatch(/^QUERY_OUT_OF_MEMORY/);
    } finally {
      roomy.close();
    }
  });
});

describe('the staging directory is out of SQL reach', () => {
  it('is private, randomly named, and refused by the checker in every form', async () => {
    const planner = await openPlanner();
    try {
      const planted = join(staging, 'planted.csv');
      await writeFile(planted, 'email_hash\nabc\n');
      for (const sql of [
        `SELECT count(*) FROM '${planted}'`,
        `SELECT count(*) FROM read_csv('${planted}')`,
        `COPY (SELECT 1) TO '${join(staging, 'out.csv')}'`,
        `SELECT count(*) FROM advertiser_customers WHERE country IN (SELECT email_hash FROM '${planted}')`,
      ]) {
        const { plan } = await planner.plan(sql);
        expect(plan.ok, sql).toBe(false);
      }
    } finally {
      await planner.close();
    }
    expect(await readdir(staging)).toEqual(['planted.csv']);
  });
});
