import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenService, type Identity } from '../../server/auth/tokens.js';

const tokens = suite('tokens');

async function refused(service: TokenService, token: string, nowMs?: number): Promise<void> {
  try {
    await service.verify(token, nowMs);
  } catch (error) {
    assert.is((error as { code?: string }).code, 'UNAUTHENTICATED');
    return;
  }
  assert.unreachable(`token ${token.slice(0, 20)}... was taken`);
}

tokens('a token verified once is kept until its exp, then refused and dropped', async () => {
  const service = new TokenService('s'.repeat(40));
  const token = await service.mint({ userId: 'fan-1', role: 'viewer' }, 60);
  const now = Date.now();
  const identity = await service.verify(token, now);
  assert.equal(identity, { userId: 'fan-1', role: 'viewer', expiresAtMs: identity.expiresAtMs } satisfies Identity);
  assert.ok(Math.abs(identity.expiresAtMs - (now + 60_000)) <= 1_000, 'the token\'s exp, in ms');
  assert.equal(await service.verify(token, now + 59_000), identity);
  assert.is(service.verifiedTokens, 1);
  await refused(service, token, now + 61_000);
  assert.is(service.verifiedTokens, 0, 'the expired token is no longer kept');
});

tokens('a kept token does not vouch for a forged one, nor one signed with another secret', async () => {
  const service = new TokenService('s'.repeat(40));
  const token = await service.mint({ userId: 'fan-1', role: 'viewer' });
  await service.verify(token);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const adminPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
  await refused(service, `${header}.${adminPayload}.${signature}`);
  // A character in the middle: all six of its bits are signature bits.
  await refused(service, `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`);
  await refused(service, await new TokenService('t'.repeat(40)).mint({ userId: 'fan-1', role: 'viewer' }));
  await refused(service, await service.mint({ userId: 'fan-1', role: 'viewer' }, -10));
  assert.is(service.verifiedTokens, 1, 'only the genuine token is kept');
});

tokens('the tokens kept are bounded: past the bound the oldest goes, and is verified again when it returns', async () => {
  const service = new TokenService('s'.repeat(40), 3);
  const minted = await Promise.all(['a', 'b', 'c', 'd'].map((userId) => service.mint({ userId, role: 'viewer' })));
  for (const token of minted) await service.verify(token);
  assert.is(service.verifiedTokens, 3);
  const again = await service.verify(minted[0]);
  assert.equal([again.userId, again.role], ['a', 'viewer']);
  assert.is(service.verifiedTokens, 3);
});

tokens.run();
