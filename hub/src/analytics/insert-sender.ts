import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { isProcessAlive } from '@opshub/platform/process-alive';
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
  /** the body, or its parts to be sent one after the other (see `native-block.ts`) */
  readonly body: Buffer | string | readonly Buffer[];
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
      const values = Readable.from(typeof insert.body === 'string' || Buffer.isBuffer(insert.body) ? [insert.body] : insert.body, { objectMode: false });
      const result = await client.exec({ query: `INSERT INTO ${insert.into} SETTINGS ${insert.settings} FORMAT ${insert.format}`, values });
      // The answer to an insert is empty, but reading it to the end frees the HTTP socket and surfaces a late error.
      await finished(result.stream.resume());
      return;
    }
    const name = `${randomUUID()}.${insert.format === 'Native' ? 'native' : 'tsv'}`;
    let file = join(this.#folder(), name);
    await writeFile(file, insert.body).catch(async (error: unknown) => {
      // The folder went (a cleaner of /dev/shm, or another process's sweep of folders it took for abandoned): make
      // another rather than fail every retry the same way.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#dir = undefined;
      file = join(this.#folder(), name);
      await writeFile(file, insert.body);
    });
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
    // machine never share a file name space. The path (a temp folder, a pid and a UUID) needs no quoting in SQL.
    if (this.#dir) return this.#dir;
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    removeAbandoned(base);
    this.#dir = mkdtempSync(join(base, `${prefix}${process.pid}-`));
    return this.#dir;
  }
}

const prefix = 'opshub-analytics-';

/**
 * Staging folders of processes that died without closing (`kill -9` mid-insert leaves one batch, megabytes of memory
 * on /dev/shm): the folder names its process, and a folder whose process is gone goes.
 */
function removeAbandoned(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid)) rmSync(join(base, name), { recursive: true, force: true });
  }
}
