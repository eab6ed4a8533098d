/**
 * The hand-written rendering of the DOM bench's pages that have no elements of their own (Dexie,
 * SQLite-WASM, TanStack DB): the 20 list sections, and a keyed list for each.
 *
 * Rendering is keyed by row id and patches only what changed, as a framework's keyed list would
 * (React's `key`, Lit's `repeat`): a row's `<li>` is kept while the row is in the result, its
 * checkbox, `data-done`, title and project name are written only when they changed, new rows get
 * a new `<li>`, gone rows' `<li>` are removed, and rows are moved with React's rule (a row moves
 * when its old position is before the last row kept in place). The checkbox calls `onToggle(id,
 * checked)` on `change` (where the page writes `done`, like `jazz-field="done"`).
 */
import { LISTS, listTitle } from './shared.ts';

/** A row as these pages render it: what `expectList` reads (`project` included). */
export interface ShownTodo {
  readonly id: string;
  readonly done: boolean;
  readonly title: string;
  readonly project?: { readonly name: string } | undefined;
}

interface RowView {
  li: HTMLLIElement;
  box: HTMLInputElement;
  title: Text;
  project: Text;
  row: ShownTodo | undefined;
}

/** Fills `listsEl` with the 20 list sections (title and an empty `<ul>`); answers the sections. */
export function listSections(listsEl: HTMLElement): HTMLElement[] {
  listsEl.innerHTML = LISTS.map((s, i) => `<section data-list="${i}"><h3>${listTitle(s)}</h3><ul></ul></section>`).join('');
  return [...listsEl.querySelectorAll<HTMLElement>('section[data-list]')];
}

/** One list: answers a function that patches `ul` to show `rows`. */
export function keyedList(ul: HTMLUListElement, onToggle: (id: string, done: boolean) => void): (rows: readonly ShownTodo[]) => void {
  let views: RowView[] = [];
  let byId = new Map<string, RowView>();
  const create = (row: ShownTodo): RowView => {
    const li = document.createElement('li');
    li.setAttribute('data-id', row.id);
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.addEventListener('change', () => onToggle(row.id, box.checked));
    const titleEl = document.createElement('span');
    titleEl.className = 'title';
    const title = document.createTextNode('');
    titleEl.append(title);
    const small = document.createElement('small');
    small.className = 'project';
    const project = document.createTextNode('');
    small.append(project);
    li.append(box, ' ', titleEl, ' ', small);
    const v: RowView = { li, box, title, project, row: undefined };
    patch(v, row);
    return v;
  };
  const patch = (v: RowView, row: ShownTodo) => {
    const old = v.row;
    if (!old || old.done !== row.done) {
      v.li.setAttribute('data-done', String(row.done));
      v.box.checked = row.done;
    }
    if (!old || old.title !== row.title) v.title.data = row.title;
    const name = row.project?.name ?? '';
    if (!old || (old.project?.name ?? '') !== name) v.project.data = name;
    v.row = row;
  };
  return (rows) => {
    const next: RowView[] = [];
    const nextById = new Map<string, RowView>();
    for (const row of rows) {
      let v = byId.get(row.id);
      if (v) patch(v, row);
      else v = create(row);
      next.push(v);
      nextById.set(row.id, v);
    }
    for (const v of views) if (nextById.get(v.row!.id) !== v) v.li.remove();
    const oldIndex = new Map(views.map((v, i) => [v, i]));
    let lastPlaced = -1;
    let prev: Node | null = null;
    for (const v of next) {
      const o = oldIndex.get(v);
      if (o === undefined || o < lastPlaced) ul.insertBefore(v.li, prev ? prev.nextSibling : ul.firstChild);
      else lastPlaced = o;
      prev = v.li;
    }
    views = next;
    byId = nextById;
  };
}
