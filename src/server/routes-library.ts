import { Router } from 'express';
import type { ServerContext } from './context.js';
import { needs } from './auth.js';
import { redactPaths } from './redact.js';
import { NotFoundError } from '../core/errors/retrace-error.js';

/**
 * Library-wide views: duplicate clusters and recurring segments. They read the whole library,
 * so they need an index key (as listing it does).
 */
export function libraryRouter(ctx: ServerContext): Router {
  const router = Router();
  router.use('/dedup', needs('index', 'Reading duplicate clusters'));
  const lib = () => {
    const { dedup, dedupRelations, recurring } = ctx.engine;
    if (!dedup || !dedupRelations || !recurring) throw new NotFoundError('Route', 'dedup');
    return { dedup: dedup.bind(ctx.engine), dedupRelations: dedupRelations.bind(ctx.engine), recurring: recurring.bind(ctx.engine) };
  };

  /**
   * The relations and clusters the last dedup runs stored (cheap: nothing is searched);
   * `pending` counts the videos indexed since, which the next POST searches. `?recurring=1`
   * adds the recurring segments.
   */
  router.get('/dedup', async (req, res) => {
    const engine = lib();
    const [stored, recurring] = await Promise.all([engine.dedupRelations(), req.query.recurring === '1' ? engine.recurring() : Promise.resolve(undefined)]);
    res.setHeader('Cache-Control', 'no-store');
    res.json(redactPaths({ ...stored, ...(recurring ? { recurring } : {}) }));
  });

  /**
   * Search the videos indexed since the last run (all with `?full=1`) and answer the report. The
   * first run over a library takes minutes (bench/RESULTS.md, session 11); later runs seconds.
   */
  router.post('/dedup', async (req, res) => {
    const report = await lib().dedup({ full: req.query.full === '1' });
    res.setHeader('Cache-Control', 'no-store');
    res.json(redactPaths(report));
  });

  return router;
}
