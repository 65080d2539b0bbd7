import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { AnalyticsClient } from './analytics-client.ts';

/** One insert: where the rows go, how, and the rows themselves in `format`. */
export interface InsertBody {
  /** `events (oid, ts, …)`: the table and the columns the body fills, in order */
  readonly into: string;
  /** the statement's own `SETTINGS` (see `clickhouse-analytics.ts` for why not the client's settings) */
  readonly settings: string;
  readonly format: 'Native' | 'TabSeparated';
  /** the body's columns with their types, for a text format read from a staged file (`Native` names its own) */
  readonly structure?: string;
  readonly body: Buffer | string;
}

/**
 * Sends insert bodies through `@clickhouse/client`'s `exec`, on a server and on chDB alike, binary formats included.
 *
 * A server takes the body as the HTTP request body. chDB's connection cannot: it turns `values` into a JavaScript
 * string and appends it to the SQL text, which corrupts binary bytes (`Native`) and makes the engine carry megabytes
 * of text through its SQL parser. So on chDB (`stage: true`) the body is written to a file in a private folder on
 * memory-backed storage (`/dev/shm` where there is one) and the statement reads it with the `file()` table function:
 * `INSERT INTO … SETTINGS … SELECT * FROM file(…)`. The engine reads the file on its own threads; the deduplication
 * token applies to an `INSERT … SELECT` the same way (the views' deduplication too). The file is removed once the
 * insert has answered, stored or not; a retry writes it again.
 *
 * @example
 * const sender = new InsertSender({ stage: kind === 'chdb' });
 * await sender.send(client, { into: 'events (ts, event, …)', settings: "insert_deduplication_token = 'x'", format: 'Native', body });
 * sender.close();
 */
export class InsertSender {
  readonly #stage: boolean;
  #dir: string | undefined;

  constructor(options: { stage: boolean }) {
    this.#stage = options.stage;
  }

  async send(client: AnalyticsClient, insert: InsertBody): Promise<void> {
    if (!this.#stage) {
      const values = Readable.from([insert.body], { objectMode: false });
      const result = await client.exec({ query: `INSERT INTO ${insert.into} SETTINGS ${insert.settings} FORMAT ${insert.format}`, values });
      // The answer to an insert is empty, but reading it to the end frees the HTTP socket and surfaces a late error.
      await finished(result.stream.resume());
      return;
    }
    const file = join(this.#folder(), `${randomUUID()}.${insert.format === 'Native' ? 'native' : 'tsv'}`);
    await writeFile(file, insert.body);
    try {
      const source = insert.structure ? `file('${file}', '${insert.format}', '${insert.structure.replaceAll("'", "\\'")}')` : `file('${file}', '${insert.format}')`;
      const result = await client.exec({ query: `INSERT INTO ${insert.into} SETTINGS ${insert.settings} SELECT * FROM ${source}` });
      await finished(result.stream.resume());
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  /** The staging folder, once made. */
  get folder(): string | undefined {
    return this.#dir;
  }

  /** Removes the staging folder (files of inserts still in flight go with it). */
  close(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  #folder(): string {
    // Made on first use, so a process that never inserts leaves nothing behind; one per sender, so two hubs on one
    // machine never share a file name space. The path (a temp folder and a UUID) needs no quoting in SQL.
    this.#dir ??= mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'opshub-analytics-'));
    return this.#dir;
  }
}
