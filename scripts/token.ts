import { limits } from '../domain/limits.js';
import { roles, TokenService, type Role } from '../server/auth/tokens.js';
import { loadConfig } from '../server/config.js';
import { commandLine } from './command-line.js';

// Mints a JWT for local use with the server's AUTH_SECRET (or the development secret
// kept in the data folder): npm run token -- --sub u1 --role viewer [--ttl 3600]

const usage = `npm run token -- --sub <user id> [--role <${roles.join('|')}>] [--ttl seconds]  (role viewer, ttl 86400 unless given)`;
const values = commandLine(usage, { sub: { type: 'string' }, role: { type: 'string', default: 'viewer' }, ttl: { type: 'string', default: '86400' } });
const role = values.role as Role;
if (values.sub === undefined || !limits.idPattern.test(values.sub) || !roles.includes(role)) {
  process.stderr.write(`usage: ${usage}\n`);
  process.exit(2);
}
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  process.stderr.write('--ttl must be a positive number of seconds\n');
  process.exit(2);
}
const tokens = new TokenService(loadConfig().authSecret);
process.stdout.write(`${await tokens.mint({ userId: values.sub, role }, ttl)}\n`);
