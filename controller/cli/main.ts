import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { getCommand } from '../../agent/cli/get-command.js';
import { seedCommand } from '../../agent/cli/seed-command.js';
import { swarmCommand } from '../../agent/cli/swarm-command.js';
import { torrentCommand } from '../../agent/cli/torrent-command.js';
import { trackerCommand } from '../../agent/cli/tracker-command.js';
import { SeedstreamError } from '../../agent/peer/errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/**
 * The `seedstream` command tree. The node-side commands (torrent, seed, get, tracker) live with
 * the agent that runs them; the controller composes them into the one binary users install.
 */
export function buildProgram(): Command {
  const program = new Command('seedstream')
    .description('BitTorrent streaming peer and the testbed that evaluates it')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  program.addCommand(torrentCommand());
  program.addCommand(seedCommand());
  program.addCommand(getCommand());
  program.addCommand(trackerCommand());
  program.addCommand(swarmCommand());
  return program;
}

/** Mistakes in what the user typed: exit 2, like commander's own usage errors. */
const USAGE_ERROR_CODES = new Set(['ERR_USAGE', 'ERR_BAD_PEER_ADDRESS']);

/** Runs the CLI; returns the exit code. Expected failures print `seedstream: <message>`, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? 0
        : 2;
    }
    if (err instanceof SeedstreamError) {
      process.stderr.write(`seedstream: ${err.message}\n`);
      return USAGE_ERROR_CODES.has(err.code) ? 2 : 1;
    }
    process.stderr.write(`seedstream: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}
