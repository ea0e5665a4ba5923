/**
 * JSON schemas from the tables catalogue, for HTTP responses that return rows of catalogue tables and
 * views (the gateway's monitoring routes). A response object is declared once as an ordered list of
 * fields: each either mirrors a column of one catalogue entry (its JSON type then follows from the
 * column's type and nullability) or is computed, with a schema of its own (a DateTime turned into epoch
 * ms, a value pulled out of a JSON column). `tests/unit/gateway/monitoring-schemas.test.ts` checks
 * the routes' registered schemas against these declarations, so a column changed in the catalogue
 * cannot leave a response schema behind.
 */
import { type CatalogueEntry, type Column, type ColumnName, columnOf } from './catalogue.ts';

export type JsonType = 'string' | 'number' | 'integer';
export type JsonFieldSchema = { readonly type: JsonType | readonly [JsonType, 'null'] };

/** The JSON type a column's value is served as: integers as integers, DateTime as its text. */
export function jsonTypeOf(column: Column): JsonType {
  if (column.type === 'String' || column.type === "DateTime('UTC')") return 'string';
  if (column.type === 'Float64') return 'number';
  return 'integer';
}

export function columnSchema(column: Column): JsonFieldSchema {
  const type = jsonTypeOf(column);
  return column.nullable ? { type: [type, 'null'] } : { type };
}

/** A response field: the name of the column it mirrors, or a computed field's own schema. */
export type ResponseField<E extends CatalogueEntry> = ColumnName<E> | { readonly computed: JsonFieldSchema };

export interface ResponseObject {
  readonly entry: CatalogueEntry;
  /** Response field → the column it mirrors. */
  readonly mirrors: Readonly<Record<string, string>>;
  /** Fields computed from (not copied from) columns. */
  readonly computed: readonly string[];
  /** The JSON schema `properties`, in declaration order. */
  readonly properties: Readonly<Record<string, JsonFieldSchema>>;
}

/** Declares a response object over one catalogue entry; field order is kept (it is the JSON key order). */
export function responseObject<const E extends CatalogueEntry>(
  entry: E,
  fields: Readonly<Record<string, ResponseField<E>>>,
): ResponseObject {
  const mirrors: Record<string, string> = {};
  const computed: string[] = [];
  const properties: Record<string, JsonFieldSchema> = {};
  for (const [field, source] of Object.entries(fields)) {
    if (typeof source === 'string') {
      mirrors[field] = source;
      properties[field] = columnSchema(columnOf(entry, source));
    } else {
      computed.push(field);
      properties[field] = source.computed;
    }
  }
  return { entry, mirrors, computed, properties };
}
