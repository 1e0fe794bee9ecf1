import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { createLogger } from '../log/logger.ts';
import { registerCollaborationCommands } from './commands/collaboration-commands.ts';
import { registerUploadCommand } from './commands/upload-command.ts';
import { registerQueryCommands } from './commands/query-commands.ts';
import { registerExtractCommands } from './commands/extract-commands.ts';
import { registerModelCommands } from './commands/model-commands.ts';
import { registerPsiCommand } from './commands/psi-command.ts';
import { registerPolicyCommands } from './commands/policy-commands.ts';
import { registerConfigCommand } from './commands/config-command.ts';
import { runDemo } from './demo/demo.ts';
import { serveRoom } from './serve.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Every `cleanroom` command, declared (main.ts parses and exits; tests walk it). */
export function buildProgram(): Command {
  const program = new Command('cleanroom')
    .description('Cleanroom: encrypted uploads, policy-checked queries, differential privacy and PSI between partners')
    .version(version, '-V, --version', 'print the version of this cleanroom client')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failure, 2 usage, 3 refused by a rule, 4 key not accepted, 5 room unreachable or
busy, 6 not found, 7 conflict with the room's state, 8 malformed request or file.
Settings: --url, --key and --collab default to CLEANROOM_URL, CLEANROOM_KEY and CLEANROOM_COLLAB, then
to the profile written by \`cleanroom config set\`. NO_COLOR turns colour off.`,
    )
    .showHelpAfterError()
    // Errors come back here as exceptions, so every exit goes through exitCodeOf.
    .exitOverride();

  program
    .command('serve')
    .description('serve the room over HTTP with the embedded defaults (./data, ./policies, ./sql)')
    .option('--port <n>', 'port', '8080')
    .option('--host <host>', 'interface', '127.0.0.1')
    .action(async (o: { port: string; host: string }) => {
      const log = createLogger();
      const running = await serveRoom(log, { host: o.host, port: Number(o.port) });
      log.info({ url: running.url }, 'room listening');
      const stop = () => void running.stop().then(() => process.exit(0));
      process.once('SIGINT', stop).once('SIGTERM', stop);
    });

  program
    .command('demo')
    .description('walk through the product end to end on the demo policy and fixtures')
    .option(
      '--url <url>',
      'use a running room (with policies/demo.json and the keys in fixtures/keys) instead of an in-process one',
    )
    .action(async (o: { url?: string }) => runDemo(o));

  registerCollaborationCommands(program);
  registerUploadCommand(program);
  registerQueryCommands(program);
  registerExtractCommands(program);
  registerModelCommands(program);
  registerPsiCommand(program);
  registerPolicyCommands(program);
  registerConfigCommand(program);
  return program;
}
