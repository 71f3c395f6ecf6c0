/**
 * pgvector's errors for an HNSW graph that links a removed element are recognised, so that a
 * search bypasses the graph (exact distance) instead of failing; other errors are not.
 */
import { describe, expect, it } from 'vitest';
import { isDamagedGraphError } from '../../src/db/frame-store.js';

describe('a damaged HNSW graph', () => {
  it('is recognised by the errors pgvector gives before and after 0.8.3', () => {
    expect(isDamagedGraphError(new Error('different halfvec dimensions 51 and 0'))).toBe(true);
    expect(isDamagedGraphError(new Error('cannot load deleted element'))).toBe(true);
  });

  it('is not confused with a real dimension mismatch or any other error', () => {
    expect(isDamagedGraphError(new Error('different halfvec dimensions 51 and 512'))).toBe(false);
    expect(isDamagedGraphError(new Error('relation "frames" does not exist'))).toBe(false);
  });
});
