import type { Lead } from '@opshub/schema';

/**
 * The leads a dashboard shows, from every source at once (REST pages, the live topics of several booths, a refetch
 * after a `reset`): an upsert by id that keeps the newest version, whichever path brought it, so a REST page read
 * before an edit never overwrites the edit that the live topic already delivered.
 *
 * No runes and no DOM: the page's model wraps it, and tests drive it directly.
 * @example const book = new LeadBook(); book.upsert(lead); book.latest(50); book.stats();
 */
export class LeadBook {
  readonly #byId = new Map<string, Lead>();

  /** True when the book changed. */
  upsert(lead: Lead): boolean {
    const known = this.#byId.get(lead.id);
    if (known && (known.updatedAt > lead.updatedAt || (known.updatedAt === lead.updatedAt && known.visits >= lead.visits && sameContent(known, lead)))) return false;
    this.#byId.set(lead.id, lead);
    return true;
  }

  /** Several at once; true when any changed. */
  upsertAll(leads: readonly Lead[]): boolean {
    let changed = false;
    for (const lead of leads) changed = this.upsert(lead) || changed;
    return changed;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The most recently scanned or edited first. */
  latest(limit: number): Lead[] {
    return [...this.#byId.values()].sort((a, b) => Math.max(b.lastAt, b.updatedAt) - Math.max(a.lastAt, a.updatedAt) || (a.id < b.id ? -1 : 1)).slice(0, limit);
  }

  /** Leads, rated leads and their mean rating, overall or for one booth. */
  stats(exhibitor?: string): { leads: number; rated: number; averageRating: number | null } {
    let leads = 0;
    let rated = 0;
    let sum = 0;
    for (const lead of this.#byId.values()) {
      if (exhibitor !== undefined && lead.exhibitor !== exhibitor) continue;
      leads++;
      if (lead.rating !== null) {
        rated++;
        sum += lead.rating;
      }
    }
    return { leads, rated, averageRating: rated > 0 ? sum / rated : null };
  }
}

function sameContent(a: Lead, b: Lead): boolean {
  return a.rating === b.rating && a.notes === b.notes && a.tags.join('\u0000') === b.tags.join('\u0000') && a.lastAt === b.lastAt;
}
