-- retrace schema v15: stored windows (issue 15). Narrow windows of a reference (a vertical 9:16
-- reframe, 1:1 and 4:5 windows, off-centre crops keeping 40–60 % of the area) resemble neither
-- the whole picture nor its centre. An index built with stored windows keeps, per frame, up to two
-- narrow full-height strips (region variants 2 and 3, columns e2 and e3) and one quadrant-sized
-- window (variant 4, e4), at positions that cycle with the frame's ordinal in its video
-- (src/core/frames/region-variants.ts, `windowRegions`). Other indexes leave them null, which
-- costs nothing: the row already has a null bitmap, and the partial ANN indexes hold non-zero
-- vectors only. Nullable columns without a default: adding them rewrites nothing. Their ANN
-- indexes are built when the index is next opened (src/db/frame-store.ts).
ALTER TABLE frames ADD COLUMN e2 halfvec, ADD COLUMN e3 halfvec, ADD COLUMN e4 halfvec;
