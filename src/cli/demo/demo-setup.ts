import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPrincipalKeyFiles, readPrincipalKeyFile, type PrincipalKey } from '../../keys/principal-key-file.ts';
import type { CollaborationDocument } from '../../policy/policy-document.ts';

export const DEMO_PRINCIPALS = [
  'acme-provider',
  'acme-analyst',
  'acme-officer',
  'northwind-provider',
  'northwind-analyst',
  'northwind-officer',
] as const;
export type DemoPrincipal = (typeof DEMO_PRINCIPALS)[number];

export interface DemoWorkspace {
  readonly directory: string;
  readonly keys: Record<DemoPrincipal, PrincipalKey>;
  readonly policiesDirectory?: string;
}

/**
 * Fresh keys for every demo principal and a copy of policies/demo.json naming them, in a new
 * temporary workspace: the demo never touches ./data or the committed demo keys.
 */
export async function freshWorkspace(): Promise<DemoWorkspace> {
  const directory = await mkdtemp(join(tmpdir(), 'cleanroom-demo-'));
  const keyDirectory = join(directory, 'keys');
  const keys = {} as Record<DemoPrincipal, PrincipalKey>;
  for (const name of DEMO_PRINCIPALS) {
    const { keyPath } = await createPrincipalKeyFiles(keyDirectory, name);
    keys[name] = await readPrincipalKeyFile(keyPath);
  }
  const policy = JSON.parse(await readFile(resolve('policies/demo.json'), 'utf8')) as CollaborationDocument & {
    $schema?: string;
  };
  delete policy.$schema;
  const withKeys = {
    ...policy,
    members: policy.members.map((m) => ({
      ...m,
      principals: m.principals.map((p) => ({ ...p, publicKey: keys[p.id as DemoPrincipal].publicKeyText })),
    })),
  };
  const policiesDirectory = join(directory, 'policies');
  await mkdir(policiesDirectory);
  await writeFile(join(policiesDirectory, 'demo.json'), `${JSON.stringify(withKeys, null, 2)}\n`);
  return { directory, keys, policiesDirectory };
}

/** The committed demo keys, for a demo against a room already serving policies/demo.json. */
export async function committedWorkspace(): Promise<DemoWorkspace> {
  const keys = {} as Record<DemoPrincipal, PrincipalKey>;
  for (const name of DEMO_PRINCIPALS) keys[name] = await readPrincipalKeyFile(resolve('fixtures/keys', `${name}.key`));
  return { directory: resolve('fixtures/keys'), keys };
}
