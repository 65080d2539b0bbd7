import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import { getWordList } from '../../store/repos/chat-repo.ts';
import { WordFilter } from './word-filter.ts';

/**
 * Each event's compiled {@link WordFilter}, kept per hub process and recompiled when the event's word list version in
 * the Store moves. Callers pass the version they read (chat reads it with its other checks, in one round trip), so an
 * edit made on any hub applies to the very next message everywhere, without a cache to invalidate across processes.
 *
 * @example
 * const filters = new EventWordFilters();
 * const filter = await filters.forEvent(db, 'expo');           // reads the version itself
 * const same = await filters.forEvent(db, 'expo', version);    // no query when `version` is the cached one
 */
export class EventWordFilters {
  readonly #cache = new Map<string, { version: number; filter: WordFilter }>();

  constructor(private readonly maxEvents = 1000) {}

  async forEvent(db: Kysely<Database>, event: string, knownVersion?: number): Promise<WordFilter> {
    const cached = this.#cache.get(event);
    if (cached && knownVersion !== undefined && cached.version === knownVersion) return cached.filter;
    const list = await getWordList(db, event);
    if (cached && cached.version === list.version) return cached.filter;
    const filter = new WordFilter(list.words);
    this.#cache.delete(event);
    if (this.#cache.size >= this.maxEvents) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(event, { version: list.version, filter });
    return filter;
  }
}
