#!/usr/bin/env node
// The `bin` of the package: `npx beckon`, `beckon --help`. Everything it does is in cli.ts.
import { runCommand } from './cli.js';

await runCommand(process.argv.slice(2));
