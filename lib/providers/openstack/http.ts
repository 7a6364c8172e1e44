/**
 * One HTTP exchange with an OpenStack service over Node's built-in fetch: a timeout per request (an
 * AbortSignal), at most `maxConcurrency` requests in flight per endpoint (scheme, host and port), and the
 * body read as JSON. A request that gets no answer (refused, reset, timed out) is a TransientError here; an
 * error status is returned as it came, since only the caller knows whether a 401 means "authenticate again"
 * or a 404 "already gone".
 */
import { Semaphore } from '../../util/index.js';
import { type OpenStackAnswer, type OpenStackCall, transportError } from './errors.js';

/** Node's fetch, or a stand-in (tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

export interface HttpOptions {
  /** Longest wait for the whole answer, ms. */
  timeoutMs: number;
  /** Requests in flight per endpoint. */
  maxConcurrency: number;
  fetch?: FetchLike;
}

/** The transport every OpenStack client of one provider shares. */
export class Http {
  private readonly gates = new Map<string, Semaphore>();
  private readonly fetch: FetchLike;
  readonly timeoutMs: number;
  private readonly maxConcurrency: number;

  constructor(options: HttpOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0 (got ${options.timeoutMs})`);
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency must be an integer >= 1 (got ${options.maxConcurrency})`);
    }
    this.timeoutMs = options.timeoutMs;
    this.maxConcurrency = options.maxConcurrency;
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  /** Sends `req` once; rejects only when no answer came (TransientError) or the caller's signal aborted. */
  send(req: HttpRequest, call: OpenStackCall): Promise<OpenStackAnswer> {
    const origin = new URL(req.url).origin;
    let gate = this.gates.get(origin);
    if (!gate) {
      gate = new Semaphore(this.maxConcurrency);
      this.gates.set(origin, gate);
    }
    return gate.use(() => this.exchange(req, call));
  }

  private async exchange(req: HttpRequest, call: OpenStackCall): Promise<OpenStackAnswer> {
    req.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const res = await this.fetch(req.url, {
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal,
        redirect: 'follow',
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: parseBody(text) };
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      throw transportError(call, err, timeout.aborted ? this.timeoutMs : undefined);
    }
  }
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
