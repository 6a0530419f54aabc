import type { Knex } from 'knex';
import type { DecisionRecord } from './repository.js';

type Row = Omit<DecisionRecord, 'at' | 'input' | 'result'> & { input: string; result: string | null };

/**
 * Group commit for the decision log: each decision waits until its row is stored (nothing is
 * answered unlogged), but decisions arriving together share one INSERT, so logging costs one round
 * trip per batch instead of one per decision.
 */
export class DecisionLogWriter {
  private pending: Array<{ rows: Row[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing = false;

  constructor(
    private readonly db: Knex,
    private readonly maxRows = 500,
  ) {}

  write(rows: Row[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch: typeof this.pending = [];
        let size = 0;
        while (this.pending.length > 0 && (batch.length === 0 || size + this.pending[0]!.rows.length <= this.maxRows)) {
          const next = this.pending.shift()!;
          batch.push(next);
          size += next.rows.length;
        }
        try {
          await this.db('decision_log').insert(batch.flatMap((b) => b.rows));
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
