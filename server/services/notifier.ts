/** The port through which use-cases push live updates; the realtime gateway implements it. */
export interface WalletUpdate {
  balance: number;
  frozen: boolean;
  reason: string;
}

export interface LiveNotifier {
  walletChanged(userId: string, update: WalletUpdate): void;
  /** A room closed through this node: its members everywhere are told, and other nodes stop taking its gifts. */
  roomClosed(roomId: string, atMs: number): void;
}

export const silentNotifier: LiveNotifier = { walletChanged: () => {}, roomClosed: () => {} };
