// The demo's only script besides jazz.js: who is signed in, which project is open, and the
// service worker. Everything about data is declared in index.html with the jazz elements.

const USER = /^[a-z][a-z0-9_-]{0,31}$/;
const params = new URLSearchParams(location.search);

if (params.has('sign-out')) {
  localStorage.removeItem('jazz-demo:user');
  history.replaceState(null, '', location.pathname);
}
// `?user=bob` signs in as bob in this tab (the end-to-end tests open two users that way).
const asked = params.get('user');
if (asked && USER.test(asked)) localStorage.setItem('jazz-demo:user', asked);
const user = asked && USER.test(asked) ? asked : localStorage.getItem('jazz-demo:user');

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('jazz demo: no offline copy:', e));
}

if (user) await openBoard(user);
else showSignIn();

// `?inspect` opens <jazz-inspector> (its own script, jazz-inspector.js) below the board.
if (params.has('inspect')) {
  await import('./jazz-inspector.js');
  document.body.append(Object.assign(document.createElement('jazz-inspector'), { id: 'inspector' }));
}

function showSignIn() {
  const form = document.querySelector('#sign-in');
  form.hidden = false;
  const signIn = (name) => {
    localStorage.setItem('jazz-demo:user', name);
    location.reload();
  };
  for (const b of form.querySelectorAll('[data-user]')) b.addEventListener('click', () => signIn(b.dataset.user));
  form.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = new FormData(e.target).get('user').trim().toLowerCase();
    if (USER.test(name)) signIn(name);
  });
}

/** A token from the server's demo sign-in; offline, the last one this browser got. */
async function tokenFor(name) {
  const key = `jazz-demo:token:${name}`;
  try {
    const res = await fetch(`dev/token?user=${encodeURIComponent(name)}`, { cache: 'no-store' });
    if (res.ok) {
      const { token } = await res.json();
      localStorage.setItem(key, token);
      return token;
    }
  } catch {
    // offline: fall through
  }
  return localStorage.getItem(key);
}

async function openBoard(me) {
  const [schema, token] = await Promise.all([fetch('schema.json').then((r) => r.json()), tokenFor(me)]);
  const template = document.querySelector('#board');
  stamp(template.content, me);
  const board = document.importNode(template.content, true);
  const db = board.querySelector('jazz-db');
  db.server = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  db.dbName = `demo-${me}`; // one local database per user of this browser
  if (token) db.token = token;
  db.schema = schema;
  document.body.append(board);
  document.title = `Jazz board · ${me}`;

  // A token the server refused (expired, or made before the server's key changed): get a new one.
  db.addEventListener('jazz-error', async (e) => {
    if (e.detail?.code !== 'UNAUTHORIZED' && e.detail?.code !== 'TOKEN_EXPIRED') return;
    localStorage.removeItem(`jazz-demo:token:${me}`);
    const fresh = await tokenFor(me);
    if (fresh && fresh !== db.token) db.token = fresh;
  });

  const projects = document.querySelector('#projects');
  const projectList = document.querySelector('#project-list');
  const tasks = document.querySelector('#tasks');
  const newTask = document.querySelector('#new-task');
  const title = document.querySelector('#project-title');
  let open = localStorage.getItem(`jazz-demo:project:${me}`);
  let shown = null;

  const show = (rows) => {
    const project = rows.find((p) => p.id === open) ?? rows[0];
    document.querySelector('.tasks').hidden = !project;
    for (const b of projectList.querySelectorAll('.project')) b.setAttribute('aria-current', String(b.dataset.project === project?.id));
    if (!project) return;
    title.textContent = project.name;
    if (project.id === shown) return;
    shown = open = project.id;
    localStorage.setItem(`jazz-demo:project:${me}`, open);
    tasks.setAttribute('where', `projectId = '${project.id}'`);
    // The default value, so the form's reset after each insert keeps it.
    newTask.querySelector('[name=projectId]').setAttribute('value', project.id);
    newTask.hidden = false;
  };
  projects.addEventListener('jazz-results', (e) => show(e.detail.rows));
  projectList.addEventListener('click', (e) => {
    const button = e.target.closest('.project');
    if (!button) return;
    open = button.dataset.project;
    show(projects.rows);
  });
}

/** Puts the user's name where the board asks for it, also inside the row templates. */
function stamp(root, me) {
  for (const el of root.querySelectorAll('[data-me]')) {
    if (el.dataset.me === 'textContent') el.textContent = me;
    else el.setAttribute(el.dataset.me, me);
  }
  for (const el of root.querySelectorAll('[data-me-where]')) el.setAttribute('where', el.dataset.meWhere.replace('{me}', me));
  for (const t of root.querySelectorAll('template')) stamp(t.content, me);
}
