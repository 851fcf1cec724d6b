/** A database, table or trigger name quoted for SQL text (a backtick in it doubled). */
export function quoted(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
