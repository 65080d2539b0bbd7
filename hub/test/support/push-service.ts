import { execFile } from 'node:child_process';
import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, verify, type ECDH } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A local stand-in for a browser vendor's push service (RFC 8030), for tests: HTTPS with a throwaway certificate,
 * checking every request as a push service would and decrypting what it carries with the subscription's private key.
 *
 * Checked on every request (a failed check answers 400 and is kept in `violations`):
 * - `Content-Encoding: aes128gcm` and a body that is one RFC 8188 record (RFC 8291 §4), within 4,096 bytes;
 * - `Authorization: vapid t=JWT, k=KEY` (RFC 8292): the JWT is ES256 and verifies with `k`, `k` is the key the
 *   test expects (the hub's), `aud` is this server's origin, `exp` is in the future and at most 24 h ahead, `sub`
 *   is a `mailto:` or `https:` URL;
 * - `TTL` is a non-negative integer; `Urgency`, when present, is one of RFC 8030's four.
 *
 * The decryption is written here from RFC 8291 with node:crypto alone (ECDH, HKDF, AES-128-GCM), independently of
 * the `web-push` package the hub sends with.
 */

export interface TestCertificate {
  /** PEM files in `dir`; point `NODE_EXTRA_CA_CERTS` at `certFile` for a process that must trust the stand-in */
  readonly certFile: string;
  readonly cert: string;
  readonly key: string;
  remove(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl, valid for a day. */
export async function createTestCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'opshub-push-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  // CA:TRUE: the same certificate is the server's and the trust anchor the hub is given.
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=opshub test push service', '-keyout', keyFile, '-out', certFile,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
  ]);
  return {
    certFile,
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A browser's side of one subscription: what it sends the hub, and the private key only it holds. */
export interface TestSubscriber {
  readonly id: string;
  /** `PushSubscription.toJSON()` as a browser gives it */
  readonly subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  readonly ecdh: ECDH;
  readonly authSecret: Buffer;
}

export interface Receipt {
  readonly subscriber: string;
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly vapid: { aud: string; exp: number; sub: string };
  /** the decrypted payload */
  readonly text: string;
  readonly bodyBytes: number;
  readonly at: number;
}

const urgencies = new Set(['very-low', 'low', 'normal', 'high']);

export class PushServiceStandIn {
  readonly receipts: Receipt[] = [];
  readonly violations: string[] = [];
  readonly #subscribers = new Map<string, TestSubscriber>();
  readonly #scripted = new Map<string, { status: number; headers?: Record<string, string> }[]>();
  #waiters: { match: () => boolean; resolve: () => void }[] = [];
  #delayMs = 0;
  #inFlight = 0;
  #peak = 0;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    /** the VAPID public key every request must carry (the hub's); undefined: any key that verifies */
    public expectedKey: string | undefined,
  ) {}

  /**
   * Starts the stand-in on 127.0.0.1 (port 0).
   * @example const push = await PushServiceStandIn.start(await createTestCertificate()); const s = push.subscriber('a');
   */
  static async start(certificate: Pick<TestCertificate, 'cert' | 'key'>, options: { expectedKey?: string } = {}): Promise<PushServiceStandIn> {
    let standIn: PushServiceStandIn | undefined;
    const server = createServer({ cert: certificate.cert, key: certificate.key, keepAlive: true }, (req, res) => void standIn!.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    standIn = new PushServiceStandIn(server, `https://127.0.0.1:${port}`, options.expectedKey);
    return standIn;
  }

  /** A new browser subscription with its own P-256 key pair and auth secret, its endpoint on this stand-in. */
  subscriber(id: string): TestSubscriber {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const subscriber: TestSubscriber = {
      id,
      ecdh,
      authSecret,
      subscription: {
        endpoint: `${this.origin}/push/${encodeURIComponent(id)}`,
        expirationTime: null,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      },
    };
    this.#subscribers.set(id, subscriber);
    return subscriber;
  }

  /** The next requests for `id` are answered with these statuses in turn (then 201 again). */
  script(id: string, ...answers: { status: number; headers?: Record<string, string> }[]): void {
    this.#scripted.set(id, [...(this.#scripted.get(id) ?? []), ...answers]);
  }

  /** Holds every answer this long (a slower push service, so several hubs share a send). */
  set delayMs(ms: number) {
    this.#delayMs = ms;
  }

  /** Starts counting the most requests open at once; `peak()` reads it. */
  measureConcurrency(): { peak: () => number } {
    this.#peak = this.#inFlight;
    return { peak: () => this.#peak };
  }

  /** Every request for `id` so far. */
  receiptsFor(id: string): Receipt[] {
    return this.receipts.filter((r) => r.subscriber === id);
  }

  /** Resolves once `match()` holds (checked after every request), or rejects after `timeoutMs`. */
  until(match: () => boolean, timeoutMs = 20_000, what = 'the expected pushes'): Promise<void> {
    if (match()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.receipts.length} requests so far, violations: ${this.violations.join('; ') || 'none'}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    this.#peak = Math.max(this.#peak, this.#inFlight);
    res.once('close', () => this.#inFlight--);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const id = decodeURIComponent(/^\/push\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '');
    const subscriber = this.#subscribers.get(id);
    const refuse = (status: number, problem: string) => {
      this.violations.push(`${req.method} ${req.url}: ${problem}`);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(problem);
      this.#notify();
    };
    if (req.method !== 'POST') return refuse(405, 'push messages are POSTed');
    if (!subscriber) return refuse(404, 'no such subscription');
    let vapid: Receipt['vapid'];
    let text: string;
    try {
      if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding is ${String(req.headers['content-encoding'])}, not aes128gcm`);
      if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error(`TTL header missing or not a non-negative integer: ${String(req.headers.ttl)}`);
      if (req.headers.urgency !== undefined && !urgencies.has(String(req.headers.urgency))) throw new Error(`Urgency "${String(req.headers.urgency)}" is not one of RFC 8030's`);
      if (body.length > 4096) throw new Error(`body of ${body.length} bytes is over the 4,096 a push service accepts`);
      vapid = this.#checkVapid(String(req.headers.authorization ?? ''));
      text = decryptAes128gcm(body, subscriber.ecdh, subscriber.authSecret).toString('utf8');
    } catch (error) {
      return refuse(400, (error as Error).message);
    }
    const answer = this.#scripted.get(id)?.shift() ?? { status: 201 };
    if (this.#delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    this.receipts.push({ subscriber: id, status: answer.status, headers: req.headers, vapid, text, bodyBytes: body.length, at: Date.now() });
    res.writeHead(answer.status, { ...(answer.status === 201 ? { location: `${this.origin}/message/${randomBytes(8).toString('hex')}` } : {}), ...answer.headers }).end();
    this.#notify();
  }

  #notify(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match()) return true;
      w.resolve();
      return false;
    });
  }

  /** RFC 8292 §3: `vapid t=<JWT>, k=<public key>`; the JWT verified with ES256 against `k`. */
  #checkVapid(header: string): Receipt['vapid'] {
    const t = /(?:^|[\s,])t=([^,\s]+)/.exec(header.replace(/^vapid\s+/i, ' '))?.[1];
    const k = /(?:^|[\s,])k=([^,\s]+)/.exec(header.replace(/^vapid\s+/i, ' '))?.[1];
    if (!/^vapid /i.test(header) || !t || !k) throw new Error(`Authorization is not "vapid t=…, k=…": ${header.slice(0, 40)}`);
    if (this.expectedKey !== undefined && k !== this.expectedKey) throw new Error('VAPID key k is not the application server key the subscription was made with');
    const [h, p, s] = t.split('.');
    if (!h || !p || !s) throw new Error('VAPID token is not a compact JWS');
    const header_ = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
    if (header_.alg !== 'ES256') throw new Error(`VAPID token alg is ${String(header_.alg)}, not ES256`);
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Error('VAPID key k is not an uncompressed P-256 point');
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) throw new Error('VAPID token signature does not verify with k');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { aud?: string; exp?: number; sub?: string };
    if (claims.aud !== this.origin) throw new Error(`VAPID aud is ${String(claims.aud)}, not this push service's origin ${this.origin}`);
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600) throw new Error(`VAPID exp ${String(claims.exp)} is not within the next 24 hours`);
    if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error(`VAPID sub ${String(claims.sub)} is not a mailto: or https: URL`);
    return { aud: claims.aud, exp: claims.exp, sub: claims.sub };
  }
}

/**
 * RFC 8291 (Message Encryption for Web Push) over RFC 8188 (aes128gcm), from the user agent's side: the header
 * carries the salt, the record size and the application server's ephemeral public key (keyid); the content key and
 * nonce come from ECDH with our private key, the auth secret and HKDF-SHA-256.
 */
export function decryptAes128gcm(body: Buffer, ua: ECDH, authSecret: Buffer): Buffer {
  if (body.length < 21) throw new Error('body shorter than an aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes; RFC 8291 puts the 65-byte server key there`);
  const asPublic = body.subarray(21, 21 + idLength);
  const records = body.subarray(21 + idLength);
  if (records.length > recordSize) throw new Error('more than one record: a push message is one record (RFC 8291 §4)');
  if (records.length < 17) throw new Error('record shorter than its tag');
  const uaPublic = ua.getPublicKey();
  const ecdhSecret = ua.computeSecret(asPublic);
  // §3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32)
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  // RFC 8188 §2.2, §2.3: CEK and NONCE from the salt and IKM.
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // Padding: the last non-zero byte is the delimiter, 0x02 in the last (only) record.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new Error('no last-record delimiter (0x02) after the plaintext');
  return padded.subarray(0, end);
}
