/** The audit page's filter, as the form holds it (times as `datetime-local` text in the browser's zone). */
export interface AuditForm {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}

/** Actions the hub writes, offered as suggestions (a prefix such as `ticket.` matches every ticket action). */
export const knownActions = [
  'ticket.',
  'ticket.issue',
  'ticket.revoke',
  'ticket.unrevoke',
  'tickets.import',
  'event.create',
  'event.update',
  'gate.',
  'gate.pair',
  'gate.unpair',
  'consents.set',
  'sale.',
];

/**
 * The query string for `GET /api/v1/events/{e}/audit` (and `audit.csv`): empty fields left out, times in ms.
 * @example auditQuery({ actor: 'ana', action: '', target: '', from: '', to: '' }) // 'actor=ana'
 */
export function auditQuery(form: AuditForm, extra: Record<string, string | number> = {}): string {
  const q = new URLSearchParams();
  for (const key of ['actor', 'action', 'target'] as const) if (form[key].trim()) q.set(key, form[key].trim());
  for (const key of ['from', 'to'] as const) {
    const ms = form[key] ? new Date(form[key]).getTime() : NaN;
    if (Number.isFinite(ms)) q.set(key, String(ms));
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  return q.toString();
}

/** A short, readable account of a change: `status: valid → revoked`, or the fields written. */
export function describeChange(before: unknown, after: unknown): string {
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const b = obj(before);
  const a = obj(after);
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if (b && a) {
    const changed = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
    return changed.map((k) => `${k}: ${text(b[k]) ?? '—'} → ${text(a[k]) ?? '—'}`).join('; ').slice(0, 300);
  }
  if (a) return Object.entries(a).map(([k, v]) => `${k}: ${text(v)}`).join('; ').slice(0, 300);
  return after === null || after === undefined ? '' : text(after).slice(0, 300);
}
