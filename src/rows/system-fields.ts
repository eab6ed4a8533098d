/**
 * The system fields every row has besides its columns, made from its versions alone (so every
 * replica agrees): who created it and when, who changed it last and when. Authors are user ids
 * (src/sync/author.ts); times are epoch milliseconds (the wall-clock part of the versions' HLC
 * timestamps), numbers like `timestamp` columns. They are read, filtered, ordered and indexed like
 * columns, and returned only when a query selects them. This module has no dependencies, so the
 * page's script can name them without the row codecs.
 */
import type { ColumnSchema } from '../schema/schema.ts';

export type SysField = '$createdBy' | '$createdAt' | '$updatedBy' | '$updatedAt';
export type SysValues = { [K in SysField]: K extends `${string}At` ? number : string };

/** Each system field as the column it reads like (not frozen, to keep the page's script small: do not change them). */
export const SYS_COLUMNS: Readonly<Record<SysField, ColumnSchema>> = {
  $createdBy: { type: 'string' },
  $createdAt: { type: 'timestamp' },
  $updatedBy: { type: 'string' },
  $updatedAt: { type: 'timestamp' },
};

/** The system fields by name. */
export const SYS_FIELDS = Object.keys(SYS_COLUMNS) as readonly SysField[];

export function isSysField(name: string): name is SysField {
  return Object.hasOwn(SYS_COLUMNS, name);
}
