/** The benchmarks' and tests' one seeded generator (mulberry32): uniform numbers in [0, 1) from a seed. */
export { mulberry32 as seededRng } from '../../bench/common/seeded-random.js';
