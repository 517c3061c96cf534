#!/usr/bin/env node
// The `mlbench` program: everything it does lives in cli/ (importable, tested in-process).
import { main } from './cli/index.js';

main(process.argv.slice(2)).then((code) => process.exit(code));
