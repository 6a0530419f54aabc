/** A timestamptz as PostgreSQL returns it (a Date) or as stored text, to ISO 8601; null stays null. */
export const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());
