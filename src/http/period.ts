import { Type } from '@sinclair/typebox';
import { HttpProblem } from './problem.js';
import { Instant } from './schemas.js';

export const PeriodQuery = {
  from: Type.Optional(Instant('start of the period (inclusive), a date-time or a date (its midnight UTC); default: `to` minus 90 days')),
  to: Type.Optional(Instant('end of the period (exclusive), a date-time or a date (its midnight UTC); default: now')),
};

const DAY = 86_400_000;

/** A period from query parameters: ordered, at most `maxDays` long, normalised to ISO strings. */
export function parsePeriod(query: { from?: string; to?: string }, maxDays = 400, now = new Date()): { from: string; to: string } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 90 * DAY);
  const invalid = (field: string, message: string) => new HttpProblem(400, 'validation-error', `${field}: ${message}`, [{ location: 'querystring', field, message }]);
  if (to <= from) throw invalid('to', 'must be after from');
  if (to.getTime() - from.getTime() > maxDays * DAY) throw invalid('from', `the period may span at most ${maxDays} days`);
  return { from: from.toISOString(), to: to.toISOString() };
}
