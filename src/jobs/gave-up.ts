import { errorMessage } from '../sources/collections.js';
import type { JobMeta } from './queue.js';

/**
 * Why a step of a row's work failed, naming the step: `planning failed after 3 attempts: <why>`, or
 * `evaluation failed (not retried: the error would recur): <why>`.
 */
export function stepError(step: string, attempts: number | 'permanent', why: unknown): string {
  const message = (why instanceof Error ? errorMessage(why) : typeof why === 'string' ? why : undefined) || 'unknown error';
  return attempts === 'permanent' ? `${step} failed (not retried: the error would recur): ${message}` : `${step} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${message}`;
}

/** The last error of a dead-lettered job, which pg-boss keeps in the job's output. */
export function deadLetterError(meta: JobMeta): string | undefined {
  const output = meta.output as { message?: unknown; value?: unknown; code?: unknown } | null | undefined;
  const message = typeof output?.message === 'string' ? output.message : typeof output?.value === 'string' ? output.value : undefined;
  // The serialised error keeps the database's code, so the SQL knex put before the message goes as for a live error.
  return message === undefined ? undefined : errorMessage(Object.assign(new Error(message), { code: output?.code }));
}

/**
 * Why a job ended in its dead letter queue, naming the step: every attempt failed (the last one's
 * error) or the last attempt expired (its instance stopped, or it outran its timeout; pg-boss then
 * keeps no error of it).
 */
export const gaveUpError = (step: string, meta: JobMeta): string =>
  stepError(step, meta.retryLimit + 1, deadLetterError(meta) ?? 'the instance running it stopped or its attempt timed out');
