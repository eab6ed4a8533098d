/**
 * S1: a policy matrix over a multi-tenant schema. Every table × operation × role × two
 * tenants is tried through the real server; reads must return exactly the permitted rows and every
 * write must be applied or rejected exactly as the rules say. Every row of tenant B carries a canary
 * string, and every frame a tenant-A user receives is scanned for it, also while rows move between
 * tenants and memberships are removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { createDb, startSyncServer, wsConnector, s, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { Db } from '../src/db.ts';
import type { Connector } from '../src/sync/transport.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({
  orgs: s.table({ name: s.string() }),
  members: s.table({ orgId: s.ref('orgs'), userId: s.string(), role: s.enum('admin', 'member') }),
  projects: s.table({ orgId: s.ref('orgs'), name: s.string() }),
  tasks: s.table({ projectId: s.ref('projects'), title: s.string(), ownerId: s.string() }),
  notes: s.table({ ownerId: s.string(), text: s.string() }),
});

const permissions = definePermissions(app, ({ policy, session, row, allowedTo, exists }) => {
  const memberOf = (orgCol: string) => exists(app.members.where({ orgId: row[orgCol], userId: session.userId }));
  const adminOf = (orgCol: string) => exists(app.members.where({ orgId: row[orgCol], userId: session.userId, role: 'admin' }));
  policy.orgs.allowRead.where(exists(app.members.where({ orgId: row.id, userId: session.userId })));
  policy.members.allowRead.where(memberOf('orgId'));
  policy.members.allowInsert.where(adminOf('orgId'));
  policy.members.allowUpdate.where(adminOf('orgId'));
  policy.members.allowDelete.where(adminOf('orgId'));
  policy.projects.allowRead.where(memberOf('orgId'));
  policy.projects.allowInsert.where(memberOf('orgId'));
  policy.projects.allowUpdate.where(memberOf('orgId'));
  policy.projects.allowDelete.where(adminOf('orgId'));
  policy.tasks.allowRead.where(allowedTo.read('project'));
  policy.tasks.allowInsert.where(allowedTo.read('project'));
  policy.tasks.allowUpdate.whereOld(allowedTo.read('project')).whereNew(allowedTo.read('project'));
  policy.tasks.allowDelete.where({ ownerId: session.userId });
  policy.notes.allowRead.where({ ownerId: session.userId });
  policy.notes.allowInsert.where({ ownerId: session.userId });
  policy.notes.allowUpdate.where({ ownerId: session.userId });
  policy.notes.allowDelete.where({ ownerId: session.userId });
});

const SECRET = 'backend-secret-for-tests';
const CANARY = 'CANARY-B';
const encoder = new TextEncoder();
const canaryBytes = encoder.encode(CANARY);
let server: SyncServer;
let sign: (sub: string) => Promise<string>;
const open: Db<typeof app>[] = [];
const leaks: string[] = [];

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A connector that scans every frame the client receives for the canary. */
function scanning(who: string): Connector {
  return (url, events) => wsConnector(url, { ...events, message: (d) => (contains(d, canaryBytes) && leaks.push(`${who} received the canary`), events.message(d)) });
}

async function user(sub: string, scan: boolean): Promise<Db<typeof app>> {
  const db = createDb({ app, server: server.url, appId: 'mt', auth: { token: await sign(sub) }, ...(scan ? { connect: scanning(sub) } : {}) });
  open.push(db);
  return db;
}

const admin = () => {
  const db = createDb({ app, server: server.url, appId: 'mt', auth: { secret: SECRET } });
  open.push(db);
  return db;
};

let backend: Db<typeof app>;
const tenants: Record<'A' | 'B', { org: string }> = { A: { org: '' }, B: { org: '' } };
/** Users: per tenant an admin and a member; plus an outsider belonging to no org. */
const users = { A: { admin: 'alice', member: 'amos' }, B: { admin: 'bea', member: 'bob' }, outsider: 'olga' };

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  sign = (sub) => new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  server = await startSyncServer({ port: 0, inMemory: true, dev: true, log: () => {}, auth: { jwtPublicKey: await exportSPKI(publicKey), backendSecret: SECRET }, permissions });
  backend = admin();
  for (const t of ['A', 'B'] as const) {
    const tag = t === 'B' ? ` ${CANARY}` : '';
    const h = backend.batch((b) => {
      const org = b.insert(app.orgs, { name: `org ${t}${tag}` }).id;
      tenants[t].org = org;
      b.insert(app.members, { orgId: org, userId: users[t].admin, role: 'admin' });
      b.insert(app.members, { orgId: org, userId: users[t].member, role: 'member' });
    });
    await h.wait({ tier: 'global' });
  }
});

afterAll(async () => {
  for (const db of open) await db.close();
  await server.close();
});

type Op = 'read' | 'insert' | 'update' | 'delete';
type Role = 'orgAdmin' | 'orgMember' | 'outsider' | 'backend';
const TABLES = ['orgs', 'members', 'projects', 'tasks', 'notes'] as const;
type Table = (typeof TABLES)[number];

/** What the rules above allow, written out independently of them. */
function expected(table: Table, op: Op, role: Role): boolean {
  if (role === 'backend') return true;
  if (role === 'outsider') return false;
  const admin = role === 'orgAdmin';
  switch (table) {
    case 'orgs':
      return op === 'read';
    case 'members':
      return op === 'read' || admin;
    case 'projects':
      return op !== 'delete' || admin;
    case 'tasks':
      return op !== 'delete' || admin; // tasks are owned by the org admin
    case 'notes':
      return admin; // notes belong to the org admin
  }
}

/** A fresh row of `table` in tenant `t`, written by the backend; returns its id and values. */
async function seedRow(table: Table, t: 'A' | 'B'): Promise<{ id: string; values: Record<string, unknown> }> {
  const tag = t === 'B' ? ` ${CANARY}` : '';
  const org = tenants[t].org;
  let project = '';
  const values: Record<string, unknown> = {};
  const h = backend.batch((b) => {
    project = b.insert(app.projects, { orgId: org, name: `p${tag}` }).id;
    switch (table) {
      case 'orgs':
        values.name = `extra org${tag}`;
        break;
      case 'members':
        Object.assign(values, { orgId: org, userId: `someone${tag}`, role: 'member' });
        break;
      case 'projects':
        Object.assign(values, { orgId: org, name: `project${tag}` });
        break;
      case 'tasks':
        Object.assign(values, { projectId: project, title: `task${tag}`, ownerId: users[t].admin });
        break;
      case 'notes':
        Object.assign(values, { ownerId: users[t].admin, text: `note${tag}` });
        break;
    }
    if (table === 'orgs') {
      const id = b.insert(app.orgs, values as never).id;
      values.id = id;
      // the org's members are those of the tenant
      b.insert(app.members, { orgId: id, userId: users[t].admin, role: 'admin' });
      b.insert(app.members, { orgId: id, userId: users[t].member, role: 'member' });
    } else values.id = b.insert((app as any)[table], values as never).id;
  });
  await h.wait({ tier: 'global' });
  return { id: values.id as string, values };
}

function serverRow(table: Table, id: string) {
  const e = server.engineOf('mt')!;
  return e.getRowById(e.table(table), id);
}

async function attempt(db: Db<typeof app>, table: Table, op: Op, t: 'A' | 'B'): Promise<boolean> {
  if (op === 'read') {
    const target = await seedRow(table, t);
    const rows = await db.all((app as any)[table], { tier: 'global' });
    return rows.some((r) => (r as { id: string }).id === target.id);
  }
  if (op === 'insert') {
    const org = tenants[t].org;
    const { id: project } = await seedRow('projects', t);
    const values: Record<string, Record<string, unknown>> = {
      orgs: { name: 'new org' },
      members: { orgId: org, userId: 'newbie', role: 'member' },
      projects: { orgId: org, name: 'new project' },
      tasks: { projectId: project, title: 'new task', ownerId: 'x' },
      notes: { ownerId: users[t].admin, text: 'new note' },
    };
    const h = db.insert((app as any)[table], values[table] as never);
    const ok = await h.wait({ tier: 'global' }).then(
      () => true,
      (e) => (expect(e.code).toBe('BATCH_REJECTED'), false),
    );
    expect(!!serverRow(table, h.id), `server state after ${op} ${table}`).toBe(ok);
    return ok;
  }
  const target = await seedRow(table, t);
  await new Promise((r) => setTimeout(r, 20));
  if (op === 'update') {
    const change: Record<Table, Record<string, unknown>> = {
      orgs: { name: 'renamed' },
      members: { role: 'admin' },
      projects: { name: 'renamed' },
      tasks: { title: 'renamed' },
      notes: { text: 'renamed' },
    };
    // A row the user cannot see is written blind (upsert): the server must judge it as an update.
    const local = db.engine.getRowById(db.engine.table(table), target.id);
    const h = local
      ? db.update((app as any)[table], target.id, change[table] as never)
      : db.upsert((app as any)[table], { ...target.values, ...change[table], id: undefined } as never, { id: target.id });
    const ok = await h.wait({ tier: 'global' }).then(
      () => true,
      (e) => (expect(e.code).toBe('BATCH_REJECTED'), false),
    );
    const key = Object.keys(change[table])[0]!;
    expect(serverRow(table, target.id)![key] === change[table][key], `server state after ${op} ${table}`).toBe(ok);
    return ok;
  }
  // delete: a row the user cannot see is given to it as if it had leaked, then deleted.
  if (!db.engine.getRowById(db.engine.table(table), target.id)) {
    db.engine.applyVersions(backend.engine.history(backend.engine.table(table), target.id).map((version) => ({ table, version })));
  }
  const h = db.delete((app as any)[table], target.id);
  const ok = await h.wait({ tier: 'global' }).then(
    () => true,
    (e) => (expect(e.code).toBe('BATCH_REJECTED'), false),
  );
  expect(!serverRow(table, target.id), `server state after ${op} ${table}`).toBe(ok);
  return ok;
}

describe('S1: the policy matrix', () => {
  for (const role of ['orgAdmin', 'orgMember', 'outsider', 'backend'] as Role[]) {
    for (const t of ['A', 'B'] as const) {
      it(`${role} of tenant A acting on tenant ${t}`, async () => {
        const db = role === 'backend' ? admin() : await user(role === 'outsider' ? users.outsider : role === 'orgAdmin' ? users.A.admin : users.A.member, true);
        const results: string[] = [];
        const want: string[] = [];
        for (const table of TABLES) {
          for (const op of ['read', 'insert', 'update', 'delete'] as Op[]) {
            const allowed = t === 'A' || role === 'backend' ? expected(table, op, role) : false;
            want.push(`${table}.${op}: ${allowed ? 'allowed' : 'denied'}`);
            results.push(`${table}.${op}: ${(await attempt(db, table, op, t)) ? 'allowed' : 'denied'}`);
          }
        }
        expect(results).toEqual(want);
        if (role !== 'backend') expect(leaks).toEqual([]);
      });
    }
  }
});

describe('S1: rows moving out of scope', () => {
  it('a task moved to the other tenant is dropped, and its canary never arrives', async () => {
    const alice = await user(users.A.admin, true);
    let titles: string[] = [];
    alice.subscribeAll(app.tasks.include({ project: true }), ({ all }) => (titles = all.map((r) => r.title as string)));
    const pa = (await seedRow('projects', 'A')).id;
    const pb = (await seedRow('projects', 'B')).id;
    const task = backend.insert(app.tasks, { projectId: pa, title: 'travelling', ownerId: 'alice' });
    await task.wait({ tier: 'global' });
    await until(() => titles.includes('travelling'));
    await backend.update(app.tasks, task.id, { projectId: pb, title: `travelling ${CANARY}` }).wait({ tier: 'global' });
    await until(() => !titles.some((x) => x.startsWith('travelling')));
    expect(alice.engine.getRowById(alice.engine.table('tasks'), task.id)).toBeUndefined();
    expect(alice.engine.history(alice.engine.table('tasks'), task.id)).toEqual([]);
    expect(leaks).toEqual([]);
  });

  it('removing a membership drops the org’s rows from that user', async () => {
    const amos = await user(users.A.member, true);
    let projects: string[] = [];
    amos.subscribeAll(app.projects, ({ all }) => (projects = all.map((r) => r.id)));
    const p = (await seedRow('projects', 'A')).id;
    await until(() => projects.includes(p));
    const membership = (await backend.all(app.members.where({ orgId: tenants.A.org, userId: users.A.member })))[0]!;
    await backend.delete(app.members, membership.id).wait({ tier: 'global' });
    await until(() => projects.length === 0);
    // and gaining it back brings them back
    await backend.restore(app.members, membership.id).wait({ tier: 'global' });
    await until(() => projects.includes(p));
    expect(leaks).toEqual([]);
  });
});
