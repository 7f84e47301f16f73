/**
 * What kind of route a request is for, for the plugins that treat operational routes differently: health
 * probes are never shed, rate limited or authenticated (a probe that fails under load restarts a busy pod);
 * /metrics is never shed; the API description (/docs, /openapi.json) is public.
 */
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A health probe: /healthz, /readyz and their Open Inference Protocol aliases. */
    probe?: boolean;
    /** The Prometheus scrape endpoint. */
    metrics?: boolean;
    /**
     * An Open Inference Protocol route (/v2, /v2/models/...): errors are `{"error": ...}`, as the protocol requires.
     */
    oip?: boolean;
  }
}

export function isProbe(request: FastifyRequest): boolean {
  return request.routeOptions.config?.probe === true;
}

export function isMetrics(request: FastifyRequest): boolean {
  return request.routeOptions.config?.metrics === true;
}

export function isApiDescription(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url === '/openapi.json' || url === '/docs' || (url?.startsWith('/docs/') ?? false);
}

/** The playground page and its assets: public like the API description (the page's API calls still need a key). */
export function isPlaygroundPage(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url === '/' || (url?.startsWith('/playground/') ?? false);
}
