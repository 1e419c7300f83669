/**
 * Text PostgreSQL can keep as it was sent. U+0000: `text` and `jsonb` refuse it. Half of a
 * surrogate pair (not well-formed UTF-16) has no UTF-8 form: `jsonb` refuses its escape,
 * and `text` would silently store U+FFFD instead. Whole pairs (emoji) are fine.
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}

/** The same text, storable: U+0000 and each half of a broken surrogate pair become U+FFFD. */
export function toStorableText(value: string): string {
  return value.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/**
 * A JSON value (as JSON.parse returns it) whose strings and keys are all storable, for
 * keeping a copy of what another system sent us: that text is not ours to refuse.
 */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return isStorableText(value) ? value : toStorableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [isStorableText(key) ? key : toStorableText(key), storableJson(item)]));
}
