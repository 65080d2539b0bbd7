/**
 * What every hub of one deployment must share: the HS256 secret its tokens are signed with and the VAPID key pair its
 * pushes are signed with (a subscription made through one hub is pushed by any). Generated once into the cluster's
 * folder and read back on the next start; written whole under a temporary name and then linked into place, so two
 * starts at once never read half a file.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ClusterSecrets {
  readonly jwtSecret: string;
  readonly vapidPublicKey: string;
  readonly vapidPrivateKey: string;
}

/** @example const secrets = await loadOrCreateClusterSecrets('./data/cluster'); */
export async function loadOrCreateClusterSecrets(dir: string): Promise<ClusterSecrets> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'cluster-secrets.json');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined) return parseSecrets(existing, file);
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, JSON.stringify(createSecrets(), null, 2), { mode: 0o600 });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another start made them first: use those
  } finally {
    await rm(temporary, { force: true });
  }
  return parseSecrets(await readFile(file, 'utf8'), file);
}

function createSecrets(): ClusterSecrets {
  // VAPID keys are P-256: the public key as an uncompressed point (0x04 | x | y), the private key as the raw scalar,
  // both base64url, the form web-push and the hub's VAPID_* variables take.
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]);
  return { jwtSecret: randomBytes(32).toString('base64url'), vapidPublicKey: point.toString('base64url'), vapidPrivateKey: priv.d! };
}

function parseSecrets(text: string, file: string): ClusterSecrets {
  const value = JSON.parse(text) as Partial<ClusterSecrets>;
  if (typeof value.jwtSecret !== 'string' || value.jwtSecret.length < 32 || typeof value.vapidPublicKey !== 'string' || typeof value.vapidPrivateKey !== 'string') {
    throw new Error(`${file} is not a cluster secrets file; delete it to generate new secrets (tokens signed with the old ones stop working)`);
  }
  return { jwtSecret: value.jwtSecret, vapidPublicKey: value.vapidPublicKey, vapidPrivateKey: value.vapidPrivateKey };
}
