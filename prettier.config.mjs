/*
 * Prettier options chosen to match the code as it was written by hand (single
 * quotes, semicolons, trailing commas, long lines), so that one formatting pass
 * changes layout, not style. Scope: the code only (see the npm scripts `format`
 * and `format:check`); Markdown, JSON results and WGSL snapshots are left alone.
 */

/** @type {import('prettier').Config} */
export default {
  // Hand-written lines run to ~160 characters (few go past it); a narrower width
  // would rewrap hundreds of lines.
  printWidth: 160,
  singleQuote: true,
  semi: true,
  trailingComma: 'all',
  // WGSL lives in template literals: never let Prettier touch a template's text
  // (it only formats embedded CSS/HTML/GraphQL/Markdown, but make that explicit).
  embeddedLanguageFormatting: 'off',
};
