import type { paths } from './schema';

/** The JSON body of a GET route's 200 answer, from the generated OpenAPI types. */
export type Json<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer T } } } } } ? T : never;
/** One item of a listed (paged) GET route. */
export type Item<P extends keyof paths> = Json<P> extends { items: Array<infer T> } ? T : never;
