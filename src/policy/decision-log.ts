import type { Knex } from 'knex';
import type { DecisionRecord } from './repository.js';

/** A decision as the writer takes it: `input` and `result` already serialised as JSON text. */
export type DecisionLogRow = Omit<DecisionRecord, 'at' | 'input' | 'result'> & { input: string; result: string | null };

interface Entry {
  rows: DecisionLogRow[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const JSON_COLUMNS = new Set(['input', 'result']);

/**
 * Group commit for the decision log. Nothing is answered unlogged: each caller waits until its rows
 * are committed. But callers do not each pay a commit: while one insert is in flight, whatever
 * arrives waits and goes out together in the next one, so at low load a decision costs one commit
 * and at high load one commit carries every decision that arrived during the previous one.
 *
 * One insert in flight (`maxInFlight`, default 1) rather than several: measured in `npm run
 * bench:access` (2 cores, 10 connections), four concurrent inserts carried 1.6 rows per commit and
 * cost PostgreSQL 170-230 µs of CPU per decision; one carried about 4 and cost about 100, and the
 * event loop also did less (one socket write and one reply per group). Throughput rose with it.
 *
 * A group that fails is retried entry by entry, so one bad row (a value PostgreSQL refuses) fails
 * only its own caller, never the others that shared its commit.
 */
export class DecisionLogWriter {
  private queue: Entry[] = [];
  private inFlight = 0;
  /** Committed groups and the rows they carried (the bench prints rows per commit). */
  readonly stats = { commits: 0, rows: 0 };

  constructor(
    private readonly db: Knex,
    private readonly options: { maxRows?: number; maxInFlight?: number } = {},
  ) {}

  write(rows: DecisionLogRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const maxRows = this.options.maxRows ?? 500;
    const maxInFlight = this.options.maxInFlight ?? 1;
    while (this.queue.length > 0 && this.inFlight < maxInFlight) {
      const batch: Entry[] = [];
      let size = 0;
      while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0]!.rows.length <= maxRows)) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.rows.length;
      }
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Entry[]): Promise<void> {
    try {
      const rows = batch.flatMap((entry) => entry.rows);
      await insertRows(this.db, rows);
      this.stats.commits++;
      this.stats.rows += rows.length;
      for (const entry of batch) entry.resolve();
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      // Someone's row may be the cause: each entry on its own, so only that one fails.
      await Promise.all(
        batch.map((entry) =>
          insertRows(this.db, entry.rows).then(
            () => entry.resolve(),
            (own: unknown) => entry.reject(own),
          ),
        ),
      );
    }
  }
}

/** A pg client as knex's pool hands it out: only what the insert uses. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

/**
 * One INSERT with one parameter: the rows as a JSON array expanded by json_populate_recordset, so
 * a statement's text is the same whatever the batch size (no SQL built per row). `input` and
 * `result` are spliced in as the JSON text they already are rather than parsed and re-serialised.
 *
 * It goes straight to a pooled connection as a named prepared statement rather than through knex's
 * query builder: PostgreSQL parses and plans it once per connection instead of once per group,
 * and the group costs one Bind/Execute round trip (the profile in docs/ARCHITECTURE.md, Access
 * decisions, showed both on every decision).
 */
async function insertRows(db: Knex, rows: DecisionLogRow[]): Promise<void> {
  const columns = Object.keys(rows[0]!);
  const json = '[' + rows.map((row) => '{' + columns.map((c) => `${JSON.stringify(c)}:${JSON_COLUMNS.has(c) ? ((row as Record<string, unknown>)[c] ?? 'null') : JSON.stringify((row as Record<string, unknown>)[c] ?? null)}`).join(',') + '}').join(',') + ']';
  const list = columns.map((c) => `"${c}"`).join(', ');
  const text = `INSERT INTO decision_log (${list}) SELECT ${list} FROM json_populate_recordset(NULL::decision_log, $1::json)`;
  const connection = (await db.client.acquireConnection()) as PgClient;
  try {
    await connection.query({ name: statementName(text), text, values: [json] });
  } finally {
    await db.client.releaseConnection(connection);
  }
}

// Prepared statements are per connection and by name: one name per distinct text (in practice one).
const statementNames = new Map<string, string>();
const statementName = (text: string) => {
  let name = statementNames.get(text);
  if (!name) statementNames.set(text, (name = `custos_decision_log_insert_${statementNames.size}`));
  return name;
};
