import type { Row } from './connection';

/**
 * Status rows are read by column name, trying each name in turn: MySQL 8.4
 * renamed SHOW SLAVE STATUS's columns, MariaDB keeps the old ones.
 */
export function column(row: Row, ...names: string[]): unknown {
  for (const name of names) if (name in row) return row[name];
  return undefined;
}

export function text(row: Row, ...names: string[]): string {
  const value = column(row, ...names);
  return value === null || value === undefined ? '' : String(value);
}

export function num(row: Row, ...names: string[]): number {
  const value = column(row, ...names);
  return value === null || value === undefined || value === '' ? 0 : Number(value);
}

export function nullableNum(row: Row, ...names: string[]): number | null {
  const value = column(row, ...names);
  return value === null || value === undefined || value === '' ? null : Number(value);
}

export function yes(value: unknown): boolean {
  return value === 'Yes' || value === 'ON' || value === 1 || value === '1' || value === true;
}

/** SHOW VARIABLES / SHOW STATUS rows as one lower-cased name→value record. */
export function variables(rows: Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of rows) out[String(text(row, 'Variable_name')).toLowerCase()] = text(row, 'Value');
  return out;
}
