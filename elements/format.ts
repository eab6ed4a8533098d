/**
 * The template's formatters (lazy: part of more.ts): `{{due | date}}`, `{{n | plural: "item", "items"}}`,
 * `{{assignee | default: "nobody"}}`, chained left to right (`{{due | relative | default: "no date"}}`).
 * A binding with a `|` is parsed when its template is compiled: the path, then each formatter's
 * name and its arguments (quoted strings, or bare words and numbers, separated by commas). An
 * unknown name or a wrong argument is a `TemplateError` then, never an empty render later. Nothing
 * is evaluated: a formatter is a function from this table, its arguments are data, and its result
 * becomes a text node or an attribute value like any other value.
 *
 * Dates, numbers and plurals follow the user's locale through `Intl` (the browser's language).
 *
 * | formatter | arguments | shows |
 * | --- | --- | --- |
 * | `date` | `full`, `long`, `medium` (default), `short` | a timestamp's date |
 * | `time` | same, default `short` | its time of day |
 * | `datetime` | date style, time style (default `medium`, `short`) | both |
 * | `relative` | none | `3 minutes ago`, `in 2 days`, `yesterday` (as of when the row is rendered) |
 * | `number` | fraction digits (optional) | `1,234.5` |
 * | `percent` | fraction digits (optional) | `0.25` as `25%` |
 * | `currency` | an ISO 4217 code: `EUR` | `€12.50` |
 * | `plural` | `one, other`, or `zero=…`, `one=…`, `two=…`, `few=…`, `many=…`, `other=…` | the form for the number (`#` in it is the number) |
 * | `yesno` | `yes, no` (default `yes`, `no`) | a boolean as words |
 * | `default` | text | the text when the value is empty (null, `""` or no items) |
 * | `length` | none | a string's characters, an array's or an included relation's items |
 * | `truncate` | a length | text cut to that many characters, with `…` |
 * | `list` | none | an array as `a, b, and c` |
 */
import { display, TemplateError, type Expr } from './template.ts';

type Format = (v: unknown) => unknown;
type Maker = (args: readonly string[], named: Readonly<Record<string, string>>) => Format;

const STYLES = ['full', 'long', 'medium', 'short'];
const PLURAL = ['zero', 'one', 'two', 'few', 'many', 'other'];
const PATH_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

/** A date style argument (`short`), or the default. */
function style(arg: string | undefined, fallback: string): 'full' | 'long' | 'medium' | 'short' {
  const s = arg ?? fallback;
  if (!STYLES.includes(s)) throw new TemplateError(`a date or time style is one of ${STYLES.join(', ')}, got "${s}"`);
  return s as 'short';
}

function digits(arg: string | undefined): Intl.NumberFormatOptions {
  if (arg === undefined) return {};
  const n = Number(arg);
  if (!Number.isInteger(n) || n < 0 || n > 20) throw new TemplateError(`fraction digits are a whole number from 0 to 20, got "${arg}"`);
  return { minimumFractionDigits: n, maximumFractionDigits: n };
}

const isTime = (v: unknown): v is number | Date => (typeof v === 'number' && Number.isFinite(v)) || v instanceof Date;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const empty = (v: unknown): boolean => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

function dates(options: Intl.DateTimeFormatOptions): Format {
  const f = new Intl.DateTimeFormat(undefined, options);
  return (v) => (isTime(v) ? f.format(v) : v);
}

function numbers(options: Intl.NumberFormatOptions): Format {
  const f = new Intl.NumberFormat(undefined, options);
  return (v) => (isNumber(v) ? f.format(v) : v);
}

const RELATIVE: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

const FORMATTERS: Record<string, Maker> = {
  date: ([s]) => dates({ dateStyle: style(s, 'medium') }),
  time: ([s]) => dates({ timeStyle: style(s, 'short') }),
  datetime: ([d, t]) => dates({ dateStyle: style(d, 'medium'), timeStyle: style(t, 'short') }),
  relative: () => {
    const f = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    return (v) => {
      if (!isTime(v)) return v;
      let n = (+v - Date.now()) / 1000;
      for (const [unit, size] of RELATIVE) {
        if (Math.abs(n) < size) return f.format(Math.round(n), unit);
        n /= size;
      }
      return v;
    };
  },
  number: ([d]) => numbers(digits(d)),
  percent: ([d]) => numbers({ style: 'percent', ...digits(d) }),
  currency: ([code]) => {
    if (!code || !/^[A-Za-z]{3}$/.test(code)) throw new TemplateError(`currency takes a currency code like EUR, got "${code ?? ''}"`);
    return numbers({ style: 'currency', currency: code.toUpperCase() });
  },
  plural: (args, named) => {
    const forms: Record<string, string> = { ...named };
    if (args.length) [forms['one'] = '', forms['other'] = ''] = args.length === 1 ? [args[0]!, args[0]!] : args;
    for (const k of Object.keys(forms)) if (!PLURAL.includes(k)) throw new TemplateError(`plural forms are ${PLURAL.join(', ')}, got "${k}"`);
    if (forms['other'] === undefined) throw new TemplateError('plural needs at least the "other" form: plural: "item", "items"');
    const rules = new Intl.PluralRules();
    const number = new Intl.NumberFormat();
    return (v) => {
      if (!isNumber(v)) return v;
      const form = (v === 0 ? forms['zero'] : undefined) ?? forms[rules.select(v)] ?? forms['other']!;
      return form.replace(/#/g, number.format(v));
    };
  },
  yesno:
    ([yes = 'yes', no = 'no']) =>
    (v) =>
      v === true ? yes : v === false ? no : v,
  default: ([text]) => {
    if (text === undefined) throw new TemplateError('default takes the text to show: default: "none"');
    return (v) => (empty(v) ? text : v);
  },
  length: () => (v) => (typeof v === 'string' ? [...v].length : Array.isArray(v) || v instanceof Uint8Array ? v.length : empty(v) ? 0 : v),
  truncate: ([n]) => {
    const max = Number(n);
    if (!Number.isInteger(max) || max < 1) throw new TemplateError(`truncate takes a length, got "${n ?? ''}"`);
    return (v) => {
      const chars = typeof v === 'string' ? [...v] : [];
      return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : v;
    };
  },
  list: () => {
    const f = new Intl.ListFormat(undefined, { type: 'conjunction' });
    return (v) => (Array.isArray(v) ? f.format(v.map(display)) : v);
  },
};

/** The formatters' names, for messages and the docs. */
export const FORMATTER_NAMES = Object.keys(FORMATTERS);

/** Splits `text` at `sep` outside quoted strings. */
export function splitOutside(text: string, sep: string): { text: string; pos: number }[] {
  const out: { text: string; pos: number }[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === sep) {
      out.push({ text: text.slice(start, i), pos: start });
      start = i + 1;
    }
  }
  out.push({ text: text.slice(start), pos: start });
  return out;
}

/** An argument as written: a quoted string (with `\` escapes) or a bare word or number. */
function unquote(raw: string, binding: string): string {
  const t = raw.trim();
  const q = t[0];
  if (q !== '"' && q !== "'") {
    if (!t || /["'{}|]/.test(t)) throw new TemplateError(`{{${binding}}}: write the argument "${t}" in quotes`);
    return t;
  }
  if (t.length < 2 || t[t.length - 1] !== q) throw new TemplateError(`{{${binding}}}: the quoted argument ${t} has no closing ${q}`);
  return t.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** `due | date: "short" | default: "never"`: the path and one formatting function of its formatters. */
export function pipe(text: string): Expr {
  const [head, ...rest] = splitOutside(text, '|');
  const path = head!.text.trim();
  if (!PATH_RE.test(path)) throw new TemplateError(`{{${text}}}: "${path}" is not a field: write a column or a path like project.name before the "|"`);
  const chain = rest.map(({ text: step }) => {
    const colon = step.indexOf(':');
    const name = (colon < 0 ? step : step.slice(0, colon)).trim();
    const make = Object.hasOwn(FORMATTERS, name) ? FORMATTERS[name] : undefined;
    if (!make) throw new TemplateError(`{{${text}}}: unknown formatter "${name}"; the formatters are ${FORMATTER_NAMES.join(', ')}`);
    const args: string[] = [];
    const named: Record<string, string> = {};
    if (colon >= 0) {
      for (const a of splitOutside(step.slice(colon + 1), ',')) {
        const m = /^\s*([a-z]+)\s*=(.*)$/s.exec(a.text);
        if (m && !/^\s*["']/.test(a.text)) named[m[1]!] = unquote(m[2]!, text);
        else args.push(unquote(a.text, text));
      }
    }
    try {
      return make(args, named);
    } catch (e) {
      throw e instanceof TemplateError ? new TemplateError(`{{${text}}}: ${name}: ${e.message}`) : e;
    }
  });
  const format = (v: unknown): string => display(chain.reduce((x, f) => f(x), v));
  return Object.assign(path.split('.'), { format });
}
