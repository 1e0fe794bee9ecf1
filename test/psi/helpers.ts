import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';

/** Asserts a CleanroomError with `code` and that nothing from emscripten (BindingError, stack) leaks. */
export async function expectRefusal(
  action: Promise<unknown> | (() => unknown),
  code: string,
  status?: number,
): Promise<CleanroomError> {
  let caught: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CleanroomError);
  const error = caught as CleanroomError;
  expect(error.code).toBe(code);
  if (status !== undefined) expect(error.status).toBe(status);
  expect(JSON.stringify(error.details)).not.toMatch(/BindingError|emval|\bat \S+:\d+/u);
  expect(error.message).not.toMatch(/BindingError|emval/u);
  return error;
}

/** Deterministic pseudo-random generator so failures reproduce. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n fake compressed points: the relay checks shape, not curve membership. */
export function fakePoints(n: number): Uint8Array {
  const packed = new Uint8Array(randomBytes(n * 33));
  for (let i = 0; i < n; i += 1) packed[i * 33] = 2 + (i % 2);
  return packed;
}
