// Runs at npm install (postinstall). postgres@3.4.9, the newest release, crashes the whole
// process when a connection closes while a small write is queued: nextWrite() runs from a
// setImmediate after closed() has set socket = null (porsager/postgres issues #1154 and
// #1208; fixes proposed in PRs #1168 and #1209, not yet released). Our fault test that
// stops PostgreSQL during a gift storm hit it. This applies the guard of PR #1209: settle
// the pending queries with a catchable CONNECTION_CLOSED instead of throwing, and reset
// the write buffer on teardown so a reconnect never sends stale bytes. Remove it once a
// release carries the fix; it refuses to touch any other version.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const packageDir = path.join(root, 'node_modules', 'postgres');
const marker = '/* live-gifting: nextWrite guard */';

if (!existsSync(path.join(packageDir, 'package.json'))) process.exit(0);
const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
if (version !== '3.4.9') {
  console.warn(`[patch-postgres-client] postgres@${version} is not 3.4.9: not patched; check whether it still needs the nextWrite guard`);
  process.exit(0);
}

const edits = [
  ['  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
   `  function nextWrite(fn) {\n    ${marker}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`],
  ['    clearImmediate(nextWriteTimer)\n    if (socket) {', '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {'],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener(\'data\', data)', '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener(\'data\', data)'],
];

for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
  const target = path.join(packageDir, file);
  let source = readFileSync(target, 'utf8');
  if (source.includes(marker)) continue;
  for (const [from, to] of edits) {
    if (!source.includes(from)) {
      console.error(`[patch-postgres-client] ${file}: expected code not found; not patched`);
      process.exit(1);
    }
    source = source.replace(from, to);
  }
  writeFileSync(target, source);
}
console.log('[patch-postgres-client] postgres@3.4.9: nextWrite guard applied');
