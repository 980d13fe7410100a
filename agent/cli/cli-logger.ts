import { destination, pino } from 'pino';
import type { Logger } from '../peer/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Structured logs (JSON lines) on stderr, so stdout stays free for results and events. */
export function createCliLogger(level: LogLevel = 'warn', name = 'seedstream'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination(2));
}
