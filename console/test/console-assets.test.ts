import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleAssets, resolveAsset } from '../../hub/src/rest/console-assets.ts';

describe('resolveAsset', () => {
  const root = '/srv/console';

  it('maps paths inside the build, marks hashed assets immutable, and routes everything else to the app', () => {
    expect(resolveAsset(root, '/')).toEqual({ kind: 'app' });
    expect(resolveAsset(root, '/_app/immutable/entry/start.Ab1.js')).toEqual({
      kind: 'file',
      path: '/srv/console/_app/immutable/entry/start.Ab1.js',
      immutable: true,
      ifMissing: 'not_found',
    });
    expect(resolveAsset(root, '/favicon.svg')).toMatchObject({ kind: 'file', immutable: false, ifMissing: 'not_found' });
    expect(resolveAsset(root, '/ops/expo')).toMatchObject({ kind: 'file', ifMissing: 'app' });
    expect(resolveAsset(root, '/ops/expo%20hall')).toMatchObject({ path: '/srv/console/ops/expo hall' });
  });

  it('never leaves the build folder', () => {
    for (const path of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/_app/%2E%2E/%2E%2E/package.json', '/a/../../b', '/..%2fsecret']) {
      expect(resolveAsset(root, path)).toMatchObject({ kind: 'bad_request' });
    }
    expect(resolveAsset(root, '/%zz')).toMatchObject({ kind: 'bad_request' });
    expect(resolveAsset(root, '/a%00.js')).toMatchObject({ kind: 'bad_request' });
    expect(resolveAsset(root, '/a%5c..%5cb')).toMatchObject({ kind: 'bad_request' });
    expect(resolveAsset(root, '/.env')).toEqual({ kind: 'not_found' });
    expect(resolveAsset(root, '/_app/.git/config')).toEqual({ kind: 'not_found' });
  });
});

describe('ConsoleAssets', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opshub-assets-'));
    await mkdir(join(dir, '_app', 'immutable', 'entry'), { recursive: true });
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(join(dir, '_app', 'immutable', 'entry', 'start.Ab1.js'), 'export {}');
    await writeFile(join(dir, '_app', 'version.json'), '{"version":"1"}');
    await writeFile(join(dir, 'favicon.svg'), '<svg/>');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves files with their content type and the right caching', async () => {
    const assets = new ConsoleAssets(dir);
    const js = await assets.reply('/_app/immutable/entry/start.Ab1.js');
    expect(js).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8' });
    expect(js.headers?.['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(String(js.body)).toBe('export {}');
    const version = await assets.reply('/_app/version.json');
    expect(version).toMatchObject({ status: 200, contentType: 'application/json', headers: { 'cache-control': 'no-cache' } });
    expect((await assets.reply('/favicon.svg')).contentType).toBe('image/svg+xml');
  });

  it('answers client routes with the app shell, never cached, never framed, no referrer', async () => {
    const assets = new ConsoleAssets(dir);
    for (const path of ['/', '/ops/expo', '/announcements/expo/']) {
      const reply = await assets.reply(path);
      expect(reply).toMatchObject({ status: 200, contentType: 'text/html; charset=utf-8' });
      expect(String(reply.body)).toContain('<title>console</title>');
      expect(reply.headers).toMatchObject({ 'cache-control': 'no-cache', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
    }
  });

  it('404s missing assets instead of answering them with HTML, and refuses traversal', async () => {
    const assets = new ConsoleAssets(dir);
    expect((await assets.reply('/_app/immutable/entry/gone.js')).status).toBe(404);
    expect((await assets.reply('/robots.txt')).status).toBe(404);
    expect((await assets.reply('/_app/missing-route')).status).toBe(404);
    expect((await assets.reply('/%2e%2e/outside-the-build.txt')).status).toBe(400);
    await expect(assets.reply('/api/v1/nothing-here')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('says how to build the console when there is no build', async () => {
    const assets = new ConsoleAssets(join(dir, 'no-such-build'));
    const reply = await assets.reply('/ops/expo');
    expect(reply.status).toBe(503);
    expect(String(reply.body)).toContain('npm run build -w console');
  });

  it('picks up a rebuilt file without a restart', async () => {
    const assets = new ConsoleAssets(dir);
    expect(String((await assets.reply('/')).body)).toContain('console');
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>rebuilt console</title>');
    expect(String((await assets.reply('/')).body)).toContain('rebuilt console');
  });
});
