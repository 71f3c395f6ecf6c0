/**
 * `npm run build` runs this after compiling: it makes the PGlite data-directory template that
 * new embedded indexes start from (see pglite-template.ts), once per PGlite version.
 */
import { existsSync } from 'node:fs';
import { buildTemplate, templatePath } from './pglite-template.js';

const path = templatePath();
if (existsSync(path)) {
  process.stdout.write(`PGlite template: ${path} (already made)\n`);
} else {
  const t0 = performance.now();
  await buildTemplate(path);
  process.stdout.write(`PGlite template: ${path} (made in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
