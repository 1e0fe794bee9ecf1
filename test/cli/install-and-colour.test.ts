import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { WriteStream } from 'node:tty';
import { describe, expect, it } from 'vitest';
import { stylesFor } from '../../src/cli/output.ts';

// Issue #13: the committed demo keys were 0644 after a clone, so every command warned "chmod 600 it";
// bold escape codes were printed into pipes and NO_COLOR was ignored.
describe('a fresh install', () => {
  it('makes the demo keys readable by their owner only (the postinstall script npm ci runs)', () => {
    const key = 'fixtures/keys/acme-analyst.key';
    chmodSync(key, 0o644);
    const run = spawnSync(process.execPath, ['scripts/restrict-demo-key-modes.js']);
    expect(run.status).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync('fixtures/keys/acme-analyst.pub').mode & 0o077).not.toBe(0); // public halves stay readable
  });
});

describe('styling', () => {
  // A terminal as Node sees one, with Node's own colour decision (NO_COLOR, FORCE_COLOR, TERM=dumb).
  const terminal = { isTTY: true, hasColors: WriteStream.prototype.hasColors } as unknown as NodeJS.WriteStream;
  it('styles only a colour terminal, and never with NO_COLOR, TERM=dumb or a pipe', () => {
    expect(stylesFor(terminal, { TERM: 'xterm-256color' })).toBe(true);
    expect(stylesFor(terminal, { TERM: 'xterm-256color', NO_COLOR: '1' })).toBe(false);
    expect(stylesFor(terminal, { TERM: 'dumb' })).toBe(false);
    expect(stylesFor({ isTTY: false } as NodeJS.WriteStream, { TERM: 'xterm-256color', FORCE_COLOR: '1' })).toBe(false);
  });
});
