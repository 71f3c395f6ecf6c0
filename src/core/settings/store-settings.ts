/** Settings of the vector index (HNSW over pgvector), with the measurements that chose them. */
export interface AnnSettings {
  /** HNSW graph degree of the whole-picture and centre graphs (variants 0 and 1). */
  m: number;
  /**
   * HNSW graph degree of the stored windows' graphs (variants 2–4, filled only in an index with
   * stored windows; see `windowRegions`). A graph keeps the degree it was built with: changing
   * this affects graphs built later (a new index, or one whose window graphs were dropped).
   */
  windowM: number;
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
 * The stored windows' graphs are built with m 5 so that an index with stored windows fits issue
 * 15's 2 KB a frame. Measured at 100k frames on PostgreSQL (`bench search --stored-windows
 * --window-m 8,6,5,4`, session 14): 2.75 window vectors a frame cost 282 B of rows (102 B a
 * vector) plus their graphs, 358 / 309 / 283 / 268 / 260 B a vector at m 12 / 8 / 6 / 5 / 4, so
 * frame rows + indexes came to 2288 / 2153 / 2083 / 2041 / 2020 B a frame (per-frame bytes were
 * the same at 100k and 1M in round 3). Recall@16 of the window columns against exact search was
 * 0.976–0.984 at m 12 and 0.929–0.958 at m 5, but every exact neighbour at or above the
 * windows' evidence floors (1006 in the sample) was still found at m 5, not at m 4 (0.986 of
 * the strips'); the window queries of a second tier took 207 ms (p50, 16:9 query) against 347 ms.
 */
export const DEFAULT_ANN: AnnSettings = { m: 12, windowM: 5, efConstruction: 128, efSearch: 60, exactScopeFrames: 2_000 };
