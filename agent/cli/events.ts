/** Machine-readable progress: one JSON object per line on stdout (`--json`). */
export function emitEvent(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, time: Date.now(), ...fields })}\n`);
}
