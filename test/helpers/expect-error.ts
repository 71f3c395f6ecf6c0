import { expect } from 'vitest';
import { RetraceError } from '../../src/core/errors/retrace-error.js';
import type { RetraceErrorCode } from '../../src/core/errors/retrace-error.js';

/**
 * Await `p`, expect it to reject with a RetraceError of `code` whose message is a readable
 * sentence (not an ffmpeg log dump), and return the error for further checks.
 */
export async function expectRetraceError(p: Promise<unknown>, code: RetraceErrorCode): Promise<RetraceError> {
  const outcome = await p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a ${code} error, but the call succeeded with ${JSON.stringify(outcome.value)?.slice(0, 300)}`);
  const err = outcome.error;
  if (!(err instanceof RetraceError)) {
    throw new Error(`expected a RetraceError ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  expect(err.code, `error message: ${err.message}`).toBe(code);
  expect(err.message.length).toBeGreaterThan(5);
  // A message is for people: no ffmpeg context prefixes such as "[mov,mp4 @ 0x55…]".
  expect(err.message).not.toMatch(/@ 0x[0-9a-f]+\]/i);
  expect(err.toJSON()).toEqual({ code, message: err.message });
  return err;
}
