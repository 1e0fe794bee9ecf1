import { CommanderError } from 'commander';
import { RoomRequestError } from '../client/room-client.ts';
import { CleanroomError } from '../errors/cleanroom-error.ts';
import { escapeTerminal } from './escape-terminal.ts';
import { exitCodeOf, UsageError } from './exit-codes.ts';
import { describeRefusalDetails } from './describe-refusal.ts';
import { printError } from './output.ts';
import { buildProgram } from './program.ts';

const program = buildProgram();

try {
  await program.parseAsync();
} catch (error) {
  // The room's messages echo names others chose (columns, templates, values), so one is printed as
  // one line, every control character visible; its structure is in the details that follow.
  if (error instanceof CommanderError) {
    // commander has printed its own message (and the help) already
  } else if (error instanceof UsageError) {
    printError(`usage: ${error.message}\n`);
  } else if (error instanceof RoomRequestError) {
    printError(`refused (${error.status} ${escapeTerminal(error.code)}): ${escapeTerminal(error.message)}\n`);
    printError(describeRefusalDetails(error.details));
  } else if (error instanceof CleanroomError) {
    printError(`${escapeTerminal(error.code)}: ${error.message}\n`);
  } else {
    printError(`error: ${(error as Error).message}\n`);
  }
  process.exitCode = exitCodeOf(error);
}
