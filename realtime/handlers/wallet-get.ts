import type { WalletAck } from '../events.js';
import { parseEmpty } from '../validate.js';
import type { GatewaySocket, HandlerContext } from './context.js';

export async function walletGet(ctx: HandlerContext, socket: GatewaySocket, payload: unknown): Promise<WalletAck> {
  parseEmpty(payload);
  return ctx.app.wallets.wallet(socket.data.userId);
}
