-- retrace schema v4: the ANN indexes move from cosine to L2 distance (halfvec_l2_ops), and hold
-- non-zero vectors only (partial indexes, `WHERE l2_norm(eN) > 0`). Descriptors are unit vectors,
-- so L2 order is cosine order; at 1M frames an L2 graph of the same size found far more of the
-- true neighbours, and faster (bench/RESULTS.md). Zero vectors (perfectly flat regions) must stay
-- out: the cosine index skipped them, and on L2 distance they sit at distance 1 from every query,
-- i.e. they came back as neighbours with NaN cosine similarity and spoiled the region's background.
--
-- The new indexes are built per descriptor when the index is next opened (see
-- src/db/frame-store.ts); this migration only drops the cosine ones.
DROP INDEX IF EXISTS frames_e0_hnsw;
DROP INDEX IF EXISTS frames_e1_hnsw;
