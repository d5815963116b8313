#!/usr/bin/env node
/**
 * The `latchkey` command line.
 * @module
 */
import { processIo } from './io.js';
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
