import { Type, type Static } from '@sinclair/typebox';

/** One offending input, as reported in a validation problem. */
export const FieldError = Type.Object({
  location: Type.Union([
    Type.Literal('body'),
    Type.Literal('querystring'),
    Type.Literal('params'),
    Type.Literal('headers'),
  ]),
  field: Type.String({ description: 'Dotted path of the offending field, e.g. columns[0].pii_type' }),
  message: Type.String(),
});
export type FieldError = Static<typeof FieldError>;

/** RFC 9457 problem details, served as application/problem+json. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI reference identifying the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(FieldError)),
    error_count: Type.Optional(Type.Integer({ description: 'how many entries (items of a list, fields of a document) are invalid in all, when `errors` lists only the first problems' })),
  },
  { title: 'Problem' },
);
export type Problem = Static<typeof Problem>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * An error that becomes a problem response. `slug` names the problem type (`/problems/<slug>`),
 * documented in the README, so clients can branch on it without parsing the detail.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Set when `errors` lists only the first of more problems. */
    readonly errorCount?: number,
  ) {
    super(detail);
  }

  toProblem(requestId?: string, instance?: string): Problem {
    return {
      type: `/problems/${this.slug}`,
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...(requestId ? { request_id: requestId } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.errorCount !== undefined ? { error_count: this.errorCount } : {}),
    };
  }
}

export const notFound = (entity: string, id: string) => new HttpProblem(404, 'not-found', `${entity} ${id} does not exist`);

/** A single invalid body field found by code rather than by the schema. */
export const invalidField = (field: string, message: string) =>
  new HttpProblem(400, 'validation-error', `${field}: ${message}`, [{ location: 'body', field, message }]);

export const conflict = (detail: string) => new HttpProblem(409, 'conflict', detail);

/** Standard error responses for a route's schema, so the OpenAPI document lists them. */
export function problemResponses(...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((status) => [status, Problem]));
}
