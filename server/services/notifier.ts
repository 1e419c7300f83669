/** The port through which use-cases push live updates; the realtime gateway implements it. */
export interface WalletUpdate {
  balance: number;
  frozen: boolean;
  reason: string;
}

export interface LiveNotifier {
  walletChanged(userId: string, update: WalletUpdate): void;
}

export const silentNotifier: LiveNotifier = { walletChanged: () => {} };
