/** Settings of the vector index (HNSW over pgvector), with the measurements that chose them. */
export interface AnnSettings {
  /** HNSW graph degree. */
  m: number;
  efConstruction: number;
  /** Candidates examined per query; recall rises with it. */
  efSearch: number;
  /**
   * A filtered search (`where`, `folder`) whose videos hold at most this many frames compares
   * them all (exact); a larger one filters inside the HNSW scan. See `FrameStore.knn`. Default
   * 2 000, about where the two cost the same: 64 query vectors among 30k random 51-value frames,
   * exhaustive 14 / 50 / 96 / 349 ms for scopes of 500 / 2k / 5k / 20k frames on PostgreSQL
   * (PGlite 80 / – / 516 / 1914 ms), the filtered HNSW scan 199 / 85 / 51 / 46 ms (PGlite 491 / – /
   * 114 / 81 ms), whose recall@16 against the exhaustive answer was 0.97 / 0.93 / 0.96 / 0.99.
   */
  exactScopeFrames: number;
}

/**
 * HNSW on halfvec, built on L2 distance with ef_construction 128. Descriptors are unit vectors, so
 * the nearest by L2 distance are the nearest by cosine, and knn still reports cosine similarity
 * (computed from the stored vectors). At 1M frames an L2 graph found far more of the true
 * neighbours than a cosine graph of the same size, and faster (bench/RESULTS.md). The graphs hold
 * non-zero vectors only (partial indexes): a zero vector (a perfectly flat region) has no cosine
 * similarity to anything, the cosine index skipped it, and an L2 graph would rank it at distance 1
 * from every query, i.e. as a neighbour with NaN similarity.
 * Video queries scan with ef_search 60: at 1M frames mean recall@16 0.961 (whole picture 0.982,
 * centre 0.939), against 0.975 at 100 for about 30 % more time.
 * Image queries ask for more neighbours (k 128) and so scan with ef_search = k.
 */
export const DEFAULT_ANN: AnnSettings = { m: 12, efConstruction: 128, efSearch: 60, exactScopeFrames: 2_000 };
