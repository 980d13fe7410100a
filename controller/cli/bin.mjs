#!/usr/bin/env node
// The `seedstream` command. The sources are TypeScript run through tsx, so a fresh clone works
// right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
