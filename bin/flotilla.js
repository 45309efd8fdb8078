#!/usr/bin/env node
// The `flotilla` command. The TypeScript sources are compiled to dist/ by `npm install`
// (the package's `prepare` script); this file only hands over to the compiled CLI.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'flotilla: dist/ is missing; run `npm install` (or `npm run build`) in the project first\n',
  );
  process.exit(1);
}
await import(main.href);
