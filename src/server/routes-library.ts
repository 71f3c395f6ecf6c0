import { Router } from 'express';
import { jobView, type ServerContext } from './context.js';
import { needs, principal } from './auth.js';
import { redactPaths } from './redact.js';
import { NotFoundError } from '../core/errors/retrace-error.js';

/**
 * Library-wide views: duplicate clusters and recurring segments. They read the whole library,
 * so they need an index key (as listing it does). Finding duplicates runs as a job (lane
 * `dedup`, one at a time), never inside a request.
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
   * `pending` counts the videos indexed since, which the next POST searches. `job` is the dedup
   * job queued or running, if any (its progress: `items.done` of `items.total` videos searched).
   * `?recurring=1` adds the recurring segments.
   */
  router.get('/dedup', async (req, res) => {
    const engine = lib();
    const [stored, recurring, running] = await Promise.all([
      engine.dedupRelations(),
      req.query.recurring === '1' ? engine.recurring() : Promise.resolve(undefined),
      ctx.jobs.store.findUnfinished('dedup'),
    ]);
    const job = running && ((await ctx.jobs.find(running.id)) ?? running);
    res.setHeader('Cache-Control', 'no-store');
    res.json(redactPaths({ ...stored, ...(recurring ? { recurring } : {}), job: job ? jobView(req, ctx, job, false) : null }));
  });

  /**
   * Start a dedup run as a background job: the videos indexed since the last run are searched
   * (all with `?full=1`). A first run over a library takes minutes (bench/RESULTS.md), so the
   * answer is 202 with the job at once; follow it at its `links` (events, result), or read
   * GET /api/dedup once it is done. While a dedup job is queued or running, a POST returns that
   * job instead of starting another (its `full` stands).
   */
  router.post('/dedup', async (req, res) => {
    lib();
    const { job } = await ctx.jobs.submitSingle('dedup', { full: req.query.full === '1' }, { apiKeyId: principal(res).keyId });
    res.status(202).setHeader('Location', `${req.baseUrl}/jobs/${job.id}`);
    res.setHeader('Cache-Control', 'no-store');
    res.json(jobView(req, ctx, job, false));
  });

  return router;
}
