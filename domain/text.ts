/**
 * Text PostgreSQL can keep as it was sent. U+0000: `text` and `jsonb` refuse it. Half of a
 * surrogate pair (not well-formed UTF-16) has no UTF-8 form: `jsonb` refuses its escape,
 * and `text` would silently store U+FFFD instead. Whole pairs (emoji) are fine.
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}
