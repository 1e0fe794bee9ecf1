#!/usr/bin/env node
// The installed `cleanroom` command (npm link, npx cleanroom, a global install). The sources are
// TypeScript run through tsx (a runtime dependency), so there is no build step to forget; the shim
// registers tsx's loader for this process only and hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
