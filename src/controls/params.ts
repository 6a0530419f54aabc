import { Type } from '@sinclair/typebox';
import { notFound } from '../http/problem.js';
import { CONTROL_ID, type Catalog, type Control } from './catalog.js';

/** `:id` of the control routes: a well-formed id (else 400); findControl gives 404 for one not in the catalog. */
export const ControlParams = Type.Object({ id: Type.String({ pattern: CONTROL_ID, description: 'e.g. CC6.1' }) }, { additionalProperties: false });

export function findControl(catalog: Catalog, id: string): Control {
  const control = catalog.controls.find((c) => c.id === id);
  if (!control) throw notFound('control', id);
  return control;
}
