// CSV as spreadsheets and banks read it (RFC 4180): a field with a comma, quote or line
// break is quoted, and its quotes doubled.

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function toCsv(rows: readonly (readonly string[])[]): string {
  return `${rows.map((fields) => fields.map(csvField).join(',')).join('\n')}\n`;
}
