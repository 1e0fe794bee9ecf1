import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError } from './exit-codes.ts';

/** What a partner would otherwise repeat on every command. */
export interface Profile {
  url?: string;
  key?: string;
  collab?: string;
}
export const PROFILE_FIELDS = ['url', 'key', 'collab'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

const BUILT_IN_URL = 'http://127.0.0.1:8080';

/** The profile file: CLEANROOM_CONFIG, else the user's config directory (XDG), `cleanroom/config.json`. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLEANROOM_CONFIG) return resolve(env.CLEANROOM_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'cleanroom', 'config.json');
}

export function readProfile(path = profilePath()): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON; fix it or remove it (cleanroom config path).`);
  }
  const profile: Profile = {};
  for (const field of PROFILE_FIELDS) {
    const value = (parsed as Record<string, unknown> | null)?.[field];
    if (typeof value === 'string' && value.length > 0) profile[field] = value;
  }
  return profile;
}

/** Writes the profile readable by its owner only (0600, in a 0700 directory), replacing it whole. */
export function writeProfile(profile: Profile, path = profilePath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, path);
}

/** Flag, then environment (CLEANROOM_URL, CLEANROOM_KEY, CLEANROOM_COLLAB), then the profile. */
export function settings(env: NodeJS.ProcessEnv = process.env): Profile {
  const profile = readProfile(profilePath(env));
  return {
    url: env.CLEANROOM_URL || profile.url || BUILT_IN_URL,
    key: env.CLEANROOM_KEY || profile.key,
    collab: env.CLEANROOM_COLLAB || profile.collab,
  };
}

let loaded: Profile | undefined;
/** Read once, when the commands are declared; a broken profile is reported and ignored, never fatal. */
function current(): Profile {
  if (!loaded)
    try {
      loaded = settings();
    } catch (error) {
      process.stderr.write(`warning: ${(error as Error).message}\n`);
      loaded = { url: process.env.CLEANROOM_URL || BUILT_IN_URL };
    }
  return loaded;
}

/** `--url`, defaulting to the environment or profile, then the local room. */
export const urlOption = (): Option =>
  new Option('--url <url>', 'room URL (or CLEANROOM_URL, or the profile)').default(current().url);

/** `--key`, required unless the environment or profile names one. */
export const keyOption = (description = 'your principal key file'): Option =>
  new Option('--key <file>', `${description} (or CLEANROOM_KEY, or the profile)`)
    .default(current().key)
    .makeOptionMandatory();

/** `--collab`, required unless the environment or profile names one. */
export const collabOption = (): Option =>
  new Option('--collab <id>', 'collaboration id (or CLEANROOM_COLLAB, or the profile)')
    .default(current().collab)
    .makeOptionMandatory();

/** The options every command that talks to a room takes. */
export interface CommonOptions {
  collab: string;
  key: string;
  url: string;
}

/** Adds --collab, --key and --url to a command. */
export const withRoomOptions = (command: Command): Command =>
  command.addOption(collabOption()).addOption(keyOption()).addOption(urlOption());
