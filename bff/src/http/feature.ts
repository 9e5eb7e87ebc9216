import type Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { Asset } from './static-assets.ts';

/**
 * What one feature adds to the BFF, as its `wire.ts` returns it (a flow, an admin area, the code
 * routes, the portal, the upstream outbox). The composition root builds the shared infrastructure,
 * lists the features and joins what they return; a new feature is one more line in that list.
 */
export interface Feature {
  /** Its routes, mounted in the order of the list. */
  routers: Router[];
  /** Files its pages load, served at `/assets/<name>` (static-assets.ts). */
  assets?: Record<string, Asset>;
  /** Work beside the requests: started once the app is built, stopped (and awaited) on close. */
  jobs?: Job[];
  /** Its Prometheus metrics, served at /metrics with the rest. */
  registerMetrics?(registry: Registry): void;
  /** Routes that read a body of another type than JSON as a stream (a member file, text/csv; a picture, image/*). */
  streamedBodies?: StreamedBody[];
}

/** A route (path pattern) that takes `type` unparsed: the app neither refuses nor reads it. */
export interface StreamedBody {
  path: RegExp;
  type: string;
  /** Default POST. */
  method?: 'POST' | 'PUT';
}

/** A background loop (the upstream outbox, the retention sweep). */
export interface Job {
  start(): void;
  stop(): Promise<void>;
}
