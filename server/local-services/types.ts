export interface LocalService {
  url: string;
  pid: number;
  /** Found running (a crashed run's, or another server's on the same data folder), not started by this process. */
  adopted: boolean;
  stop(): Promise<void>;
}
