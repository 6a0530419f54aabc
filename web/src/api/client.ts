import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/** The signed-in person, from GET /v1/session (with the session's CSRF token). */
export interface Me {
  subject: string;
  name: string;
  email: string | null;
  role: 'admin' | 'steward' | 'compliance_officer' | 'auditor' | 'pipeline';
  csrf_token: string | null;
}

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null) => {
  csrfToken = token;
};

/** Every state-changing request carries the session's CSRF token; a lapsed session goes to sign-in. */
const session: Middleware = {
  onRequest({ request }) {
    if (!['GET', 'HEAD'].includes(request.method) && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/v1/session')) {
      window.location.assign(`/signin?return_to=${encodeURIComponent(location.pathname + location.search)}`);
    }
    return response;
  },
};

/** The API client, typed from Custos's own OpenAPI document (npm run build:api-types). */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);

/** The message of a problem+json answer, for people. */
export function problemText(error: unknown): string {
  if (error && typeof error === 'object' && 'detail' in error) return String((error as { detail: unknown }).detail);
  return 'the request failed';
}
