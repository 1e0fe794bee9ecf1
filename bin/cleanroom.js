#!/usr/bin/env node
// The installed `cleanroom` command (npm link, npx cleanroom, a global install). The sources are
// TypeScript run through tsx (a runtime dependency), so there is no build step to forget; the shim
// registers tsx's loader for this process only and hands over to the CLI.
import { register } from 'tsx/esm/api';

// DuckDB's calls and the upload pipes run on libuv's thread pool (4 threads by default); a room
// serving uploads and queries at once needs more. Read once, when the pool starts: set it first.
process.env.UV_THREADPOOL_SIZE ??= '16';
register();
await import('../src/cli/main.ts');
