#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (built by `npm install` via `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('retrace is not built yet: run `npm install` (or `npm run build`) in the retrace folder first.\n');
  process.exit(7);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
