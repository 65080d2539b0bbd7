import type { Config } from '../../config.ts';
import type { PushSettings } from './push-stream.ts';
import { generateVapidKeys, loadOrCreateVapidKeys } from './vapid-keys.ts';

/** Used when `VAPID_SUBJECT` is unset: a syntactically valid contact. Set your own: Apple refuses some subjects. */
const FALLBACK_SUBJECT = 'mailto:push@opshub.invalid';

/**
 * The push settings `npm start` runs with: the VAPID pair from the environment or `DATA_DIR`, the subject
 * (`VAPID_SUBJECT`, else `PUBLIC_URL` when it is https), the allowed origins and the concurrency.
 * @example const hub = new Hub({ ..., push: await pushSettings(config) });
 */
export async function pushSettings(config: Config): Promise<PushSettings> {
  const keys = await loadOrCreateVapidKeys(config.vapid, config.dataDir);
  const subject = config.vapid.subject ?? (config.publicUrl?.startsWith('https:') ? config.publicUrl : FALLBACK_SUBJECT);
  return { keys, subject, allowedOrigins: config.push.allowedOrigins, concurrency: config.push.concurrency };
}

/** A throwaway key pair for a hub that was given no settings (tests, benches in one process): its pushes go nowhere known. */
export function ephemeralPushSettings(): PushSettings {
  return { keys: generateVapidKeys(), subject: FALLBACK_SUBJECT, allowedOrigins: [], concurrency: 64 };
}
