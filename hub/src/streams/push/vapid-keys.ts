import { createECDH } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { readOrCreateFile } from '../../files/read-or-create-file.ts';

/**
 * The hub's VAPID key pair (RFC 8292): P-256, base64url, public key uncompressed (65 bytes), private key 32 bytes.
 * Browsers bind a subscription to the public key they subscribed with: a push signed with another key is refused
 * (403), so **every hub process of a deployment must use the same pair**: set `VAPID_PUBLIC_KEY` and
 * `VAPID_PRIVATE_KEY` on each (generate a pair once with `npx web-push generate-vapid-keys`), or let one `DATA_DIR`
 * hold it. Changing the pair orphans every stored subscription.
 */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

const KEY_FILE = 'vapid-keys.json';
const KeyFile = z.object({ publicKey: z.string(), privateKey: z.string() });

/** Thrown for a key or pair that cannot sign pushes; the message names what to do. */
export class VapidKeyError extends Error {
  override readonly name = 'VapidKeyError';
}

/**
 * A new P-256 pair in the encoding web-push and browsers use (what `npx web-push generate-vapid-keys` prints).
 * @example const { publicKey, privateKey } = generateVapidKeys();
 */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey drops leading zero bytes; the key is always 32.
  const privateKey = Buffer.concat([Buffer.alloc(32), ecdh.getPrivateKey()]).subarray(-32);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}

/**
 * Checks that `privateKey` is a P-256 private key whose public key is `publicKey`, both base64url as web-push uses them.
 * @throws {VapidKeyError}
 * @example checkVapidKeyPair(generateVapidKeys())
 */
export function checkVapidKeyPair(keys: VapidKeys): VapidKeys {
  const publicBytes = Buffer.from(keys.publicKey, 'base64url');
  const privateBytes = Buffer.from(keys.privateKey, 'base64url');
  if (!/^[A-Za-z0-9_-]+$/.test(keys.publicKey) || publicBytes.length !== 65 || publicBytes[0] !== 4) {
    throw new VapidKeyError('the VAPID public key must be an uncompressed P-256 point, base64url without padding (65 bytes)');
  }
  if (!/^[A-Za-z0-9_-]+$/.test(keys.privateKey) || privateBytes.length !== 32) {
    throw new VapidKeyError('the VAPID private key must be a P-256 private key, base64url without padding (32 bytes)');
  }
  let derived: Buffer;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(privateBytes);
    derived = ecdh.getPublicKey();
  } catch {
    throw new VapidKeyError('the VAPID private key is not a valid P-256 key');
  }
  if (!derived.equals(publicBytes)) throw new VapidKeyError('the VAPID public and private keys are not a pair');
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

/**
 * The configured pair, or the one generated once into `DATA_DIR/vapid-keys.json` (mode 0600, written whole and linked
 * into place, as the JWT secret is), so push works after `npm start` with nothing set.
 * @example const keys = await loadOrCreateVapidKeys(config.vapid, config.dataDir);
 */
export async function loadOrCreateVapidKeys(configured: { publicKey?: string | undefined; privateKey?: string | undefined }, dataDir: string): Promise<VapidKeys> {
  if (configured.publicKey && configured.privateKey) return checkVapidKeyPair({ publicKey: configured.publicKey, privateKey: configured.privateKey });
  const file = join(dataDir, KEY_FILE);
  const text = await readOrCreateFile(file, () => JSON.stringify(generateVapidKeys()) + '\n');
  let parsed: VapidKeys;
  try {
    parsed = KeyFile.parse(JSON.parse(text));
  } catch {
    throw new VapidKeyError(`${file} holds no VAPID key pair: restore it from a backup or another hub of this deployment (a new pair orphans every push subscription), or delete it to have one generated`);
  }
  try {
    return checkVapidKeyPair(parsed);
  } catch (error) {
    throw new VapidKeyError(`${file}: ${(error as Error).message}`);
  }
}
