import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../exit-codes.ts';
import { print, printError, printJson } from '../output.ts';
import { PROFILE_FIELDS, profilePath, readProfile, writeProfile, type ProfileField } from '../profile.ts';

const field = (name: string): ProfileField => {
  if (!(PROFILE_FIELDS as readonly string[]).includes(name))
    throw new UsageError(`"${name}" is not a setting; the settings are ${PROFILE_FIELDS.join(', ')}.`);
  return name as ProfileField;
};

/** `cleanroom config set|get|unset|list|path`: the profile that stands in for --url, --key and --collab. */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description(
      'the profile that stands in for --url, --key and --collab (a 0600 file in your config directory; ' +
        'environment variables CLEANROOM_URL, CLEANROOM_KEY, CLEANROOM_COLLAB take precedence)',
    );
  config
    .command('set')
    .description('set url, key (stored as an absolute path) or collab')
    .argument('<name>', PROFILE_FIELDS.join('|'))
    .argument('<value>')
    .action((name: string, value: string) => {
      const which = field(name);
      if (which === 'url' && !/^https?:\/\//.test(value))
        throw new UsageError(`url must start with http:// or https://, got "${value}".`);
      const profile = readProfile();
      profile[which] = which === 'key' ? resolve(value) : value;
      writeProfile(profile);
      printError(`${which} set in ${profilePath()}\n`);
    });
  config
    .command('unset')
    .description('remove a setting')
    .argument('<name>', PROFILE_FIELDS.join('|'))
    .action((name: string) => {
      const profile = readProfile();
      delete profile[field(name)];
      writeProfile(profile);
    });
  config
    .command('get')
    .description('print one setting (nothing, exit 1, when unset)')
    .argument('<name>', PROFILE_FIELDS.join('|'))
    .action((name: string) => {
      const value = readProfile()[field(name)];
      if (value === undefined) process.exitCode = 1;
      else print(`${value}\n`);
    });
  config
    .command('list')
    .description('print the profile as JSON')
    .action(() => printJson(readProfile()));
  config
    .command('path')
    .description('print where the profile is kept')
    .action(() => print(`${profilePath()}\n`));
}
