// Talking to the emotion API: one POST /face at a time, every failure turned into an
// ApiError whose kind tells the page what to say and whether to retry.

// config.js is written at deploy time; an empty apiUrl means the API is on this origin.
const BASE = String(window.EMOTION_CONFIG?.apiUrl ?? '').trim().replace(/\/+$/, '');

// Past this the page stops waiting: a stuck request must not freeze the one-in-flight loop.
export const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  /**
   * kind: 'unreachable' (network, CORS or DNS), 'timeout', 'client' (4xx), 'server' (5xx)
   * or 'bad-answer' (200 that is not the API's JSON).
   */
  constructor(kind, message, { status = 0, code = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.code = code;
  }

  /** 4xx other than throttling won't go away by sending the same kind of request again. */
  get retriable() {
    return this.kind !== 'client' || this.status === 408 || this.status === 429;
  }
}

export function apiUrl(path) {
  return BASE + path;
}

/** Where the API is, for messages: the configured URL or this page's origin. */
export function apiLocation() {
  return BASE || window.location.origin;
}

async function request(path, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const started = performance.now();
  let response;
  let body = null;
  try {
    response = await fetch(apiUrl(path), { ...init, signal: controller.signal, cache: 'no-store' });
    // The body is read under the same timeout: headers alone can arrive and the body stall.
    try {
      body = await response.json();
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      // Left null: a proxy's HTML error page, or an empty body.
    }
  } catch (error) {
    if (error.name === 'AbortError') {
      throw new ApiError('timeout', `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
    }
    // fetch reports refused connections, DNS failures and CORS refusals alike, as TypeError.
    throw new ApiError('unreachable', error.message || String(error));
  } finally {
    clearTimeout(timer);
  }
  const latencyMs = performance.now() - started;
  if (!response.ok) {
    const code = body?.error?.code || '';
    const message = body?.error?.message || response.statusText || 'no details';
    throw new ApiError(response.status < 500 ? 'client' : 'server', message,
      { status: response.status, code });
  }
  if (body === null || typeof body !== 'object') {
    throw new ApiError('bad-answer', 'the answer is not JSON', { status: response.status });
  }
  return { body, latencyMs, serverMs: serverTiming(response.headers.get('Server-Timing')) };
}

/** Sum of the Server-Timing durations (decode, detect, classify), or null when absent. */
function serverTiming(header) {
  if (!header) return null;
  let total = 0;
  for (const match of header.matchAll(/dur=([\d.]+)/g)) total += Number(match[1]);
  return total;
}

/**
 * POST /face with the JPEG itself as the body (no base64, no JSON: a third smaller, and
 * nothing to encode on the page); detect=false means the image is one face crop.
 */
export function postFace(jpeg, detect) {
  return request(`/face?detect=${detect}`, {
    method: 'POST',
    headers: { 'Content-Type': 'image/jpeg' },
    body: jpeg,
  });
}

export function getHealth() {
  return request('/health', { method: 'GET' });
}
