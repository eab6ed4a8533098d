/**
 * The command line (server/cli.ts): the flag parser and `--help` made from one table, the start
 * banner, and the real CLI started as a child process in a scratch working directory: relative
 * paths, rules loaded from `--permissions=./p.js`, an unknown flag, and a server run without
 * `--dev` as the README tells (publish the schema and permissions, sign in with a JWT, restart).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { freePort } from './testing/postgres.ts';
import { runCli, startCli as startCliProcess, type Cli } from './testing/cli-process.ts';
import { appsOnDisk, banner, defaultText, envName, FLAGS, helpText, parseServerArgs, type AppOnDisk } from './cli.ts';
import { createDb, startSyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import { todoApp as app } from '../src/testing/fixtures.ts';
import { canonicalSchemaJSON } from '../src/schema/schema.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scratch(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-cli-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Inserts into todos are allowed only with the title "allowed"; everyone reads everything. */
const permissions = definePermissions(app, ({ policy }) => {
  policy.todos.allowRead.always();
  policy.todos.allowInsert.where({ title: 'allowed' });
});

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';

describe('flags', () => {
  const cwd = '/srv/jazz';

  it('--flag value and --flag=value mean the same, for every kind of flag; relative paths resolve against the working directory', () => {
    const spaced = parseServerArgs(
      ['--port', '5000', '--permissions', './p.js', '--data', 'db', '--dev', '--allowed-origins', 'https://a.example, https://b.example', '--log-level', 'warn', '--admin-secret', 's3'],
      {},
      cwd,
    );
    const joined = parseServerArgs(
      ['--port=5000', '--permissions=./p.js', '--data=db', '--dev=true', '--allowed-origins=https://a.example,https://b.example', '--log-level=warn', '--admin-secret=s3'],
      {},
      cwd,
    );
    expect(joined).toEqual(spaced);
    expect(spaced.permissionsFile).toBe('/srv/jazz/p.js');
    expect(spaced.options).toMatchObject({ port: 5000, dataDir: '/srv/jazz/db', dev: true, adminSecret: 's3', allowedOrigins: ['https://a.example', 'https://b.example'] });
    expect(spaced.logLevel).toBe('warn');
    expect(parseServerArgs(['--data', '/abs/elsewhere'], {}, cwd).options.dataDir).toBe('/abs/elsewhere');
  });

  it('without flags, the defaults --help shows are the ones in force', () => {
    const c = parseServerArgs([], {}, cwd);
    expect(c.options).toEqual({
      port: 4000,
      host: '127.0.0.1',
      dataDir: '/srv/jazz/data',
      inMemory: false,
      dev: false,
      maxFrameBytes: 16 * 2 ** 20,
      maxSubscriptions: 1000,
      maxMessagesPerSecond: 1000,
      maxHeldRows: 1_000_000,
      fileGraceMs: 24 * 3600_000,
      auth: { jwtAlgorithms: ['RS256', 'ES256', 'EdDSA'] },
    });
    expect(parseServerArgs(['--file-grace', '60'], {}, cwd).options.fileGraceMs).toBe(60_000);
    expect(c.permissionsFile).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.logFormat).toBe('json');
    expect(parseServerArgs([], {}, cwd, true).logFormat).toBe('pretty'); // auto: pretty on a terminal
    expect(parseServerArgs(['--in-memory'], {}, cwd).options).toMatchObject({ inMemory: true });
    expect(parseServerArgs(['--in-memory'], {}, cwd).options.dataDir).toBeUndefined();
  });

  it('an unknown flag is an error that lists the valid ones', () => {
    expect(() => parseServerArgs(['--permission=./p.js'], {}, cwd)).toThrow(/unknown flag --permission;/);
    try {
      parseServerArgs(['--bogus'], {}, cwd);
    } catch (e) {
      for (const f of FLAGS) expect((e as Error).message).toContain(`--${f.name}`);
    }
  });

  it('values are checked against their type; mistakes name the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--port', 'abc'], /--port must be a whole number, got "abc"/],
      [['--port', '70000'], /--port must be between 0 and 65535/],
      [['--port=4.5'], /--port must be a whole number/],
      [['--max-subscriptions', '0'], /--max-subscriptions must be between 1/],
      [['--log-level', 'loud'], /--log-level must be one of debug, info, warn, error, silent/],
      [['--log-format', 'xml'], /--log-format must be one of auto, json, pretty/],
      [['--dev=maybe'], /--dev must be true or false/],
      [['--jwks-url', 'not a url'], /--jwks-url must be a URL/],
      [['--jwks-url', 'ftp://keys.example/jwks'], /must be an http\(s\) URL/],
      [['--port'], /--port needs a value/],
      [['--data', '--dev'], /--data needs a value/],
      [['--port', '1', '--port', '2'], /--port is given twice/],
      [['4000'], /unexpected argument "4000"/],
      [['--data', 'd', '--in-memory'], /--data and --in-memory exclude each other/],
      [['--allowed-origins', ' , '], /--allowed-origins must list at least one value/],
      [['--postgres', 'http://db.example/x'], /--postgres must be a PostgreSQL URL: postgres:\/\/user:password@host:5432\/database$/],
      [['--postgres', 'postgres://u:pw@db', '--data', 'd'], /--postgres excludes --data/],
      [['--postgres', 'postgres://u:pw@db', '--in-memory'], /--postgres excludes --in-memory/],
    ];
    for (const [argv, message] of bad) expect(() => parseServerArgs(argv, {}, cwd), argv.join(' ')).toThrow(message);
  });

  it('--postgres (or JAZZ_POSTGRES) keeps the data in PostgreSQL instead of a data folder; the banner names the database, never the password', () => {
    const c = parseServerArgs(['--postgres', 'postgres://jazz:s3cret@db.example:6543/apps'], {}, cwd);
    expect(c.options.postgres).toBe('postgres://jazz:s3cret@db.example:6543/apps');
    expect(c.options.dataDir).toBeUndefined();
    expect(parseServerArgs([], { JAZZ_POSTGRES: 'postgresql://db.example/apps' }, cwd).options).toMatchObject({ postgres: 'postgresql://db.example/apps' });
    const text = banner({ url: 'ws://127.0.0.1:4000', port: 4000, config: c, apps: [{ id: 'todos', hash: 'abc', readable: true, publishedPermissions: true }] });
    expect(text).toContain('storage:     PostgreSQL at db.example:6543/apps (tables jazz_*');
    expect(text).toContain('rules: published');
    expect(text).not.toContain('s3cret');
    expect(() => parseServerArgs([], { JAZZ_POSTGRES: 'mysql://u:s3cret@db/x' }, cwd)).toThrow(/^JAZZ_POSTGRES must be a PostgreSQL URL/);
    try {
      parseServerArgs([], { JAZZ_POSTGRES: 'mysql://u:s3cret@db/x' }, cwd);
    } catch (e) {
      expect((e as Error).message).not.toContain('s3cret');
    }
  });

  it('the environment fills in flags not given; the flag wins; its mistakes name the variable', () => {
    const env = { JAZZ_PORT: '5001', JAZZ_DEV: '1', JAZZ_DATA: 'from-env', JAZZ_LOG_LEVEL: 'debug', JAZZ_HELP: '1' };
    const c = parseServerArgs(['--port', '5002'], env, cwd);
    expect(c.options).toMatchObject({ port: 5002, dev: true, dataDir: '/srv/jazz/from-env' });
    expect(c.logLevel).toBe('debug');
    expect(c.flags.help).toBe(false); // --help is a flag only
    expect(() => parseServerArgs([], { JAZZ_MAX_FRAME_BYTES: 'lots' }, cwd)).toThrow(/JAZZ_MAX_FRAME_BYTES must be a whole number/);
    expect(envName('max-messages-per-second')).toBe('JAZZ_MAX_MESSAGES_PER_SECOND');
  });

  it('--jwt-public-key takes the PEM itself (also as a separate argument) or a file relative to the working directory', () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, 'key.pem'), PEM);
    const algorithms = ['RS256', 'ES256', 'EdDSA'];
    expect(parseServerArgs(['--jwt-public-key', PEM], {}, dir).options.auth).toEqual({ jwtPublicKey: PEM, jwtAlgorithms: algorithms });
    expect(parseServerArgs([`--jwt-public-key=${PEM}`], {}, dir).options.auth).toEqual({ jwtPublicKey: PEM, jwtAlgorithms: algorithms });
    expect(parseServerArgs(['--jwt-public-key', './key.pem', '--jwt-algorithms', 'ES256', '--jwt-audience', 'aud'], {}, dir).options.auth).toEqual({
      jwtPublicKey: PEM,
      jwtAlgorithms: ['ES256'],
      jwtAudience: 'aud',
    });
    expect(() => parseServerArgs(['--jwt-public-key', './missing.pem'], {}, dir)).toThrow(`cannot read the key file "${path.join(dir, 'missing.pem')}" (ENOENT)`);
    expect(() => parseServerArgs(['--jwt-public-key', PEM, '--jwks-url', 'https://id.example/jwks'], {}, dir)).toThrow(/either --jwt-public-key or --jwks-url/);
  });

  it('--help lists every flag with its default and environment variable', () => {
    const help = helpText();
    const lines = help.split('\n');
    for (const f of FLAGS) {
      const line = lines.find((l) => l.startsWith(`  --${f.name}`) && (l[f.name.length + 4] === ' ' || l.length === f.name.length + 4));
      expect(line, `--${f.name} in --help`).toBeDefined();
      expect(line).toContain(`default: ${defaultText(f)}`);
      if (f.name !== 'help') expect(line).toContain(`env: ${envName(f.name)}`);
    }
    expect(lines.filter((l) => /^ {2}--/.test(l))).toHaveLength(FLAGS.length);
    // The defaults as written, not only as the table says them.
    for (const literal of [
      '--port <n>    default: 4000',
      '--host <string>    default: 127.0.0.1',
      '--data <path>    default: ./data',
      '--max-frame-bytes <n>    default: 16777216',
      '--jwt-algorithms <a,b,...>    default: RS256,ES256,EdDSA',
      '--log-level <debug|info|warn|error|silent>    default: info',
      '--dev    default: off',
    ]) {
      expect(help).toContain(literal);
    }
  });
});

describe('the start banner', () => {
  const url = 'ws://127.0.0.1:4000';
  const todos: AppOnDisk = { id: 'todos', hash: app.$hash, readable: true, publishedPermissions: false };

  it('says "every authenticated user may do everything" only when no rule is in force', () => {
    const plain = banner({ url, port: 4000, config: parseServerArgs(['--in-memory'], {}, '/w'), apps: [] });
    expect(plain).toContain('rules:       no rules: every authenticated user may do everything');
    expect(plain).toContain('dev mode:    off');

    const withRules = banner({ url, port: 4000, config: parseServerArgs(['--permissions', 'p.js', '--dev'], {}, '/w'), permissions, apps: [todos] });
    expect(withRules).not.toContain('may do everything');
    expect(withRules).toContain(`rules:       from /w/p.js for schema ${app.$hash}`);
    expect(withRules).toMatch(/apps: +todos +schema \S+; rules: from \/w\/p\.js/);
    expect(withRules).toContain('dev mode:    ON');

    const published = banner({
      url,
      port: 4000,
      config: parseServerArgs([], {}, '/w'),
      apps: [
        { ...todos, publishedPermissions: true },
        { id: 'open', hash: 'abc', readable: true, publishedPermissions: false },
      ],
    });
    expect(published).toMatch(/todos +schema \S+; rules: published \(todos\.permissions\.json\)/);
    expect(published).toMatch(/open +schema abc; no rules: every authenticated user may do everything/);
    expect(published).not.toContain('rules:       no rules');

    const otherSchema = banner({
      url,
      port: 4000,
      config: parseServerArgs(['--permissions', 'p.js'], {}, '/w'),
      permissions,
      apps: [{ id: 'old', hash: 'different', readable: true, publishedPermissions: false }],
    });
    expect(otherSchema).toMatch(/old +schema different; rules: users may do nothing/);
    expect(otherSchema).not.toContain('may do everything');
  });

  it('says how clients sign in, and when none can', () => {
    const none = banner({ url, port: 4000, config: parseServerArgs([], {}, '/w'), apps: [] });
    expect(none).toContain('sign-in:     none configured: no client can connect');
    const dir = scratch();
    fs.writeFileSync(path.join(dir, 'key.pem'), PEM);
    const jwt = banner({
      url,
      port: 4000,
      config: parseServerArgs(['--jwt-public-key', 'key.pem', '--backend-secret', 'b4ck3nd-s3cret', '--admin-secret', 'adm1n-s3cret', '--jwt-issuer', 'https://id.example'], {}, dir),
      apps: [],
    });
    expect(jwt).toContain(
      `sign-in:     JWT verified with the public key from ${path.join(dir, 'key.pem')} (RS256, ES256, EdDSA; audience not checked, issuer https://id.example); backend secret (admin or peer)`,
    );
    expect(jwt).toContain('admin:       routes open');
    expect(jwt).not.toMatch(/s3cret/); // the secrets themselves are never printed
    expect(banner({ url, port: 4000, config: parseServerArgs(['--jwt-public-key', PEM], {}, dir), apps: [] })).toContain('public key given inline');
  });

  it('lists the apps found in the data folder with their schema hash and published rules', async () => {
    const dir = scratch();
    const s = await startSyncServer({ port: 0, dataDir: dir, log: () => {} });
    s.publish('todos', app.$schema, permissions);
    s.publish('bare', app.$schema);
    await s.close();
    fs.writeFileSync(path.join(dir, 'broken.schema.json'), '{ not json');
    expect(appsOnDisk(dir)).toEqual([
      { id: 'bare', hash: app.$hash, readable: true, publishedPermissions: false },
      { id: 'broken', hash: expect.stringMatching(/^unreadable/), readable: false, publishedPermissions: false },
      { id: 'todos', hash: app.$hash, readable: true, publishedPermissions: true },
    ]);
    expect(appsOnDisk(path.join(dir, 'absent'))).toEqual([]);
  });
});

// ─── The real CLI, as a child process ──────────────────────────────────────────

const run = runCli;
async function startCli(args: string[], cwd: string): Promise<Cli> {
  const cli = await startCliProcess(args, cwd);
  cleanups.push(() => cli.kill());
  return cli;
}

describe('the CLI as a child process', () => {
  it('--permissions=./p.js (relative) loads the rules: a denied write is refused, and logged', async () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, 'p.js'), `export default ${JSON.stringify(permissions)};\n`);
    const cli = await startCli(['--port=0', '--in-memory', '--dev', '--permissions=./p.js'], dir);
    expect(cli.stdout()).toContain(`rules:       from ${path.join(dir, 'p.js')} for schema ${app.$hash}`);
    expect(cli.stdout()).not.toContain('may do everything');

    const db = createDb({ app, server: cli.url, appId: 'cli', backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => db.close());
    await db.insert(app.todos, { title: 'allowed' }).wait({ tier: 'global' });
    const denied = db.insert(app.todos, { title: 'not allowed' });
    await expect(denied.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });

    await expect.poll(() => cli.records().filter((r) => r.event === 'batch-rejected'), { timeout: 10_000 }).toHaveLength(1);
    const rejected = cli.records().find((r) => r.event === 'batch-rejected')!;
    expect(rejected).toMatchObject({ level: 40, app: 'cli', code: 'PERMISSION_DENIED', batchId: denied.batchId, reason: expect.stringMatching(/todos: insert denied/) });
    const opened = cli.records().find((r) => r.event === 'connection-opened')!;
    expect(opened).toMatchObject({ app: 'cli', role: 'user' });
    expect(rejected.client).toBe(opened.client);
    expect(cli.records()[0]).toMatchObject({ event: 'server-started', permissionsFile: path.join(dir, 'p.js'), permissionsFor: app.$hash, dev: true });

    await db.close();
    await expect.poll(() => cli.records().filter((r) => r.event === 'connection-closed'), { timeout: 10_000 }).toHaveLength(1);
    expect(await cli.stop()).toBe(0);
  });

  it('a PostgreSQL that cannot be reached stops the start with its address and no stack trace', async () => {
    const port = await freePort();
    const r = run(['--port', '0', '--postgres', `postgres://jazz:s3cret@127.0.0.1:${port}/apps`], scratch());
    expect(await r.exited).toBe(1);
    expect(r.err()).toMatch(new RegExp(`^jazz server: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(database "apps"\\): .*ECONNREFUSED.*\\n$`));
    expect(r.err()).not.toMatch(/\n\s+at /);
    expect(r.err() + r.out()).not.toContain('s3cret');
  });

  it('an unknown flag exits non-zero with a message that lists the flags; --help exits 0', async () => {
    const dir = scratch();
    const bad = run(['--port', '0', '--permission=./p.js'], dir);
    expect(await bad.exited).toBe(1);
    expect(bad.err()).toMatch(/^jazz server: unknown flag --permission; the flags are: --port --host --data .* --permissions /);
    expect(bad.out()).toBe('');
    const help = run(['--help'], dir);
    expect(await help.exited).toBe(0);
    expect(help.out()).toBe(helpText() + '\n');
  });

  it('runs without --dev as the README says: publish schema and permissions, sign in with a JWT, restart', async () => {
    const dir = scratch();
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    fs.writeFileSync(path.join(dir, 'key.pem'), await exportSPKI(publicKey));
    const token = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const args = ['--port', '0', '--data', './data', '--admin-secret', 'adm1n', '--jwt-public-key', './key.pem'];

    const first = await startCli(args, dir);
    expect(first.stdout()).toContain(`storage:     files under ${path.join(dir, 'data')}`);
    expect(first.stdout()).toContain('apps:        none yet');
    expect(first.stdout()).toContain(`JWT verified with the public key from ${path.join(dir, 'key.pem')}`);
    expect(first.stdout()).toContain('dev mode:    off');
    const http = `http://127.0.0.1:${first.port}`;
    expect(await (await fetch(`${http}/health`)).json()).toEqual({ ok: true, apps: 0, connections: 0 });

    const admin = (route: string, body?: string, secret = 'adm1n') =>
      fetch(`${http}/apps/todos/admin/${route}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${secret}` }, ...(body === undefined ? {} : { body }) });
    expect((await admin('schema', canonicalSchemaJSON(app.$schema), 'wrong')).status).toBe(401);
    const published = await admin('schema', canonicalSchemaJSON(app.$schema));
    expect(await published.json()).toEqual({ hash: app.$hash, versions: [app.$hash] });
    expect((await admin('permissions', JSON.stringify(permissions))).status).toBe(200);
    expect(await (await admin('schema')).json()).toMatchObject({ hash: app.$hash });
    expect(await (await admin('permissions')).json()).toEqual(permissions);
    await expect
      .poll(
        () =>
          first
            .records()
            .map((r) => r.event)
            .filter((e) => /^(schema|permissions)-published$|^admin-refused$/.test(e as string)),
        { timeout: 10_000 },
      )
      .toEqual(['admin-refused', 'schema-published', 'permissions-published']);
    expect(first.records().find((r) => r.event === 'schema-published')).toMatchObject({ app: 'todos', schemaHash: app.$hash });

    const intruder = createDb({ app, server: first.url, appId: 'todos', auth: { token: 'not.a.jwt' }, backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => intruder.close());
    await expect.poll(() => first.records().filter((r) => r.event === 'sign-in-failed'), { timeout: 10_000 }).toHaveLength(1);
    expect(first.records().find((r) => r.event === 'sign-in-failed')).toMatchObject({ level: 40, app: 'todos', code: 'UNAUTHORIZED' });
    await intruder.close();

    const ann = createDb({ app, server: first.url, appId: 'todos', auth: { token: await token('ann') }, backoff: { initialMs: 20, maxMs: 200 } });
    await ann.insert(app.todos, { title: 'allowed' }).wait({ tier: 'global' });
    await expect(ann.insert(app.todos, { title: 'nope' }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    await expect.poll(() => first.records().find((r) => r.event === 'connection-opened'), { timeout: 10_000 }).toMatchObject({ app: 'todos', user: 'ann' });
    await ann.close();
    expect(await first.stop()).toBe(0);

    const second = await startCli(args, dir);
    expect(second.stdout()).toMatch(new RegExp(`apps: +todos +schema ${app.$hash}; rules: published \\(todos\\.permissions\\.json\\)`));
    expect(second.stdout()).not.toContain('no rules');
    expect(await second.stop()).toBe(0);
  });
});
