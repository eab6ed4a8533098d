/**
 * Files in the elements (lazy: part of more.ts; the bytes go through the page's files API,
 * jazz-files.js, loaded on first use).
 *
 * - **Forms.** `<input type="file" name="photo">` in a `<jazz-form>` names a file column
 *   (`s.file()`, `"file"`; with `multiple`, an array of them). jazz.js's form leaves file inputs
 *   alone (they are not among the controls it reads and resets); this module reads them when the
 *   submit is checked (`formFiles`, from form-submit.ts's `formValues`), puts the chosen `File`s in
 *   the values and, for an insert, empties the inputs. Before the row is written each file is
 *   stored (`db.createFileFromBlob`, tier `local`) and replaced by its id (`uploadFiles`), the form
 *   firing `jazz-progress` `{ loaded, total, column, name }` (bytes, over all the submit's files)
 *   and driving every `<progress jazz-progress>` inside it (`jazz-progress="photo"`: that
 *   column's files only). A submit with files is written after its files, and the form's later
 *   submits after it, in order. A file that cannot be stored (quota, a refused option) writes
 *   nothing: the files go back into their input if nothing was chosen since, and the error shows
 *   on it. An input with no file leaves the column out of an update, is null for an optional
 *   column, leaves a defaulted one out of an insert, and is "Please choose a file." otherwise.
 * - **Templates.** `<img jazz-src="photo">` (also `<video>`, `<audio>`, `<source>`, `<iframe>`)
 *   shows the row's file through an object URL; `<a jazz-file="photo">` links to it, to download
 *   under the file's name (shown as the link's text when it has none). One URL per file however
 *   many rows show it, revoked when the last of them leaves or points elsewhere.
 * - **`<jazz-stream file-id>`** renders a file's text as it arrives: a live stream chunk by chunk
 *   while its writer writes, a finished file at once (UTF-8). `state` is `loading`, `live`,
 *   `done` or `error` (a `jazz-error` says why: `FILE_NOT_FOUND`, `FILE_INCOMPLETE`, ...);
 *   `aria-busy` is true until the text is whole. A stream whose writer went away stays `live`
 *   (nothing tells it from a slow writer): set `file-id` to stop reading it.
 */
import { ReactiveElement } from '@lit/reactive-element';
import { JazzError, type BrowserDb, type ColumnSchema, type DynamicApp } from '../worker/page/index.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, fire, report } from './events.ts';
import { AttributeError } from './query-attributes.ts';
import type { Extra, RowView } from './template.ts';

const FILES_TABLE = '$files';

/** Whether `col` holds a file (or, `many`, files). */
function isFileColumn(col: ColumnSchema | undefined, many: boolean): boolean {
  if (!col) return false;
  if (many) return col.type === 'array' && col.items?.type === 'ref' && col.items.ref === FILES_TABLE;
  return col.type === 'ref' && col.ref === FILES_TABLE;
}

// ─── forms ─────────────────────────────────────────────────────────────────

/** The file inputs of `form` (not of a form nested in it). */
export function fileInputs(form: Element): HTMLInputElement[] {
  return [...form.querySelectorAll<HTMLInputElement>('input[type="file"][name]')].filter((el) => !el.disabled && el.closest('jazz-form') === form);
}

/** Files a submit chose, by input, to put back if it fails. */
export type ChosenFiles = readonly (readonly [HTMLInputElement, readonly File[]])[];

/**
 * Reads the form's file inputs into `values` (`File`, or `File[]` for an array column); empties
 * them for an insert. Returns what was chosen, or a mistake (the input, and why) to show.
 */
export function formFiles(
  form: Element,
  columns: Readonly<Record<string, ColumnSchema>>,
  forInsert: boolean,
  values: Record<string, unknown>,
): ChosenFiles | { at: HTMLInputElement; error: JazzError } {
  const chosen: [HTMLInputElement, File[]][] = [];
  for (const el of fileInputs(form)) {
    const col = columns[el.name];
    const many = col?.type === 'array';
    if (!isFileColumn(col, many)) {
      const what = col ? `a ${col.type} column` : 'no column';
      return { at: el, error: new JazzError(col ? 'TYPE_MISMATCH' : 'UNKNOWN_COLUMN', `a file input names a file column (s.file(), "file"); "${el.name}" is ${what}`, { column: el.name }) };
    }
    if (!el.checkValidity()) return { at: el, error: new JazzError('TYPE_MISMATCH', el.validationMessage, { column: el.name }) };
    const files = [...(el.files ?? [])];
    chosen.push([el, files]);
    if (files.length > 0) values[el.name] = many ? files : files[0];
    else if (many && forInsert && col!.default === undefined) values[el.name] = [];
    else if (!forInsert || col!.default !== undefined) continue;
    else if (col!.optional) values[el.name] = null;
    else return { at: el, error: new JazzError('TYPE_MISMATCH', 'Please choose a file.', { column: el.name }) };
  }
  if (forInsert) for (const [el] of chosen) el.value = '';
  return chosen;
}

/** Puts files back into the inputs a failed submit emptied, when nothing was chosen there since. */
export function putFilesBack(chosen: ChosenFiles): void {
  for (const [el, files] of chosen) {
    if (files.length === 0 || (el.files?.length ?? 0) > 0) continue;
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(f);
    el.files = dt.files;
  }
}

/** Whether a submit's values hold files to store first. */
export function hasFiles(values: Readonly<Record<string, unknown>>): boolean {
  return Object.values(values).some((v) => v instanceof Blob || (Array.isArray(v) && v.some((x) => x instanceof Blob)));
}

/**
 * Stores the values' files (see the top of the file) and replaces each by its id. Rejects with the
 * first failure and the column it was for (`details.column`); files stored before it are deleted.
 */
export async function uploadFiles(form: Element, db: BrowserDb<DynamicApp>, values: Record<string, unknown>): Promise<void> {
  const jobs: { column: string; file: File; loaded: number }[] = [];
  for (const [column, v] of Object.entries(values)) for (const f of Array.isArray(v) ? v : [v]) if (f instanceof Blob) jobs.push({ column, file: f as File, loaded: 0 });
  const total = jobs.reduce((n, j) => n + j.file.size, 0);
  const bars = [...form.querySelectorAll<HTMLProgressElement>('progress[jazz-progress]')].filter((p) => p.closest('jazz-form') === form);
  const show = (job: (typeof jobs)[number]) => {
    const loaded = jobs.reduce((n, j) => n + j.loaded, 0);
    for (const bar of bars) {
      const only = bar.getAttribute('jazz-progress')!.trim();
      const mine = only ? jobs.filter((j) => j.column === only) : jobs;
      if (only && job.column !== only) continue;
      bar.max = Math.max(
        1,
        mine.reduce((n, j) => n + j.file.size, 0),
      );
      bar.value = mine.reduce((n, j) => n + j.loaded, 0);
    }
    fire(form, 'jazz-progress', { loaded, total, column: job.column, name: job.file.name ?? '' });
  };
  const stored: string[] = [];
  try {
    for (const job of jobs) {
      show(job);
      const id = await db.createFileFromBlob(job.file, {
        onProgress: (p) => {
          job.loaded = p.loaded;
          show(job);
        },
      });
      stored.push(id);
      const v = values[job.column];
      values[job.column] = Array.isArray(v) ? v.map((x) => (x === job.file ? id : x)) : id;
    }
  } catch (e) {
    for (const id of stored) db.deleteFile(id).catch(() => {});
    const column = jobs.find((j) => values[j.column] === j.file || (Array.isArray(values[j.column]) && (values[j.column] as unknown[]).includes(j.file)))?.column;
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { details: { ...((e as JazzError).details ?? {}), column } });
  }
}

// ─── templates ─────────────────────────────────────────────────────────────

/** Object URLs of files, shared by every row that shows the same file. */
const urls = new Map<string, { url: Promise<{ url: string; name: string }>; users: number }>();

function useUrl(db: BrowserDb<DynamicApp>, id: string): Promise<{ url: string; name: string }> {
  let u = urls.get(id);
  if (!u) {
    const url = Promise.all([db.loadFileAsBlob(id), db.fileInfo(id)]).then(([blob, info]) => ({ url: URL.createObjectURL(blob), name: info.name ?? '' }));
    urls.set(id, (u = { url, users: 0 }));
    // A file that could not be loaded is tried again by the next row that asks.
    url.catch(() => urls.get(id) === u && urls.delete(id));
  }
  u.users++;
  return u.url;
}

function dropUrl(id: string): void {
  const u = urls.get(id);
  if (!u || --u.users > 0) return;
  urls.delete(id);
  u.url.then(({ url }) => URL.revokeObjectURL(url)).catch(() => {});
}

/** How many files have an object URL now (for tests). */
export function liveUrls(): number {
  return urls.size;
}

const SRC_TAGS = new Set(['img', 'video', 'audio', 'source', 'iframe', 'embed', 'track']);

/** `jazz-src` and `jazz-file` (see the top of the file); undefined for any other attribute. */
export function fileExtra(el: Element, name: string, value: string): Extra | undefined {
  if (name !== 'jazz-src' && name !== 'jazz-file') return undefined;
  const column = value.trim();
  if (name === 'jazz-src' && !SRC_TAGS.has(el.localName))
    throw new AttributeError(
      new JazzError('TEMPLATE_INVALID', `jazz-src goes on <img>, <video>, <audio>, <source>, <iframe>, <embed> or <track>, not <${el.localName}>; use jazz-file on a link`),
      name,
      0,
    );
  if (name === 'jazz-file' && el.localName !== 'a') throw new AttributeError(new JazzError('TEMPLATE_INVALID', `jazz-file goes on a link (<a>), not <${el.localName}>`), name, 0);
  return {
    check: (schema, query) => {
      const col = schema.tables[query.table]?.columns[column];
      if (isFileColumn(col, false) && (!query.select || query.select.includes(column))) return;
      throw new AttributeError(
        new JazzError(col ? 'TYPE_MISMATCH' : 'UNKNOWN_COLUMN', col ? `${name} names "${column}", a ${col.type} column, not a file column` : `${name} names "${column}", which the rows do not have`, {
          column,
        }),
        name,
        0,
      );
    },
    part: (node, view: RowView) => {
      const attr = name === 'jazz-src' ? 'src' : 'href';
      let shown: string | undefined;
      const db = (view.ctx.owner as { db?: BrowserDb<DynamicApp> } | undefined)?.db;
      const text = node.textContent?.trim() === '';
      return {
        update: (row) => {
          const id = row[column];
          const next = typeof id === 'string' ? id : undefined;
          if (next === shown) return;
          if (shown) dropUrl(shown);
          shown = next;
          node.removeAttribute(attr);
          if (!next || !db) return;
          useUrl(db, next).then(
            ({ url, name: fileName }) => {
              if (shown !== next) return;
              node.setAttribute(attr, url);
              if (attr === 'href') {
                node.setAttribute('download', fileName);
                if (text) node.textContent = fileName;
              }
            },
            (e: unknown) => shown === next && fire(node, 'jazz-error', errorDetail(e, { attribute: name })),
          );
        },
        dispose: () => {
          if (shown) dropUrl(shown);
          shown = undefined;
        },
      };
    },
  };
}

// ─── <jazz-stream> ─────────────────────────────────────────────────────────

/**
 * Renders a file's text as it arrives (see the top of the file).
 * @tagname jazz-stream
 * @fires jazz-error - The file cannot be read: `{ code, message }` (`FILE_NOT_FOUND`, `FILE_INCOMPLETE`, ...).
 */
export class JazzStreamElement extends ReactiveElement {
  static override properties = { fileId: { type: String, attribute: 'file-id' } };

  /** The file (or live stream) to show. */
  declare fileId: string | undefined;

  readonly #ctl = new DbController(this);
  #reading: string | undefined;
  #stop: (() => void) | undefined;
  readonly #text = document.createTextNode('');

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#end();
  }

  protected override updated(): void {
    const db = this.#ctl.db;
    const problem = this.#ctl.problem();
    if (problem) return (this.setAttribute('state', 'error'), report(this, problem));
    const id = this.fileId?.trim() || undefined;
    if (!db || id === this.#reading) return;
    this.#end();
    this.#reading = id;
    this.#text.data = '';
    if (!this.#text.isConnected) this.replaceChildren(this.#text);
    if (id) void this.#read(db, id);
  }

  async #read(db: BrowserDb<DynamicApp>, id: string): Promise<void> {
    this.#state('loading');
    let cancelled = false;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    this.#stop = () => {
      cancelled = true;
      void reader?.cancel().catch(() => {});
    };
    try {
      const info = await db.fileInfo(id);
      reader = (await db.loadFileAsStream(id)).getReader();
      if (cancelled) return void reader.cancel().catch(() => {});
      this.#state(info.state === 'complete' ? 'loading' : 'live');
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (cancelled) return;
        this.#text.data += decoder.decode(value, { stream: !done });
        if (done) return this.#state('done');
      }
    } catch (e) {
      if (!cancelled) {
        this.#state('error');
        fire(this, 'jazz-error', errorDetail(e, { attribute: 'file-id' }));
      }
    }
  }

  #state(state: 'loading' | 'live' | 'done' | 'error'): void {
    this.setAttribute('state', state);
    // Assistive technology waits for the whole text rather than reading every chunk.
    this.setAttribute('aria-busy', String(state === 'loading' || state === 'live'));
  }

  #end(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#reading = undefined;
  }
}
