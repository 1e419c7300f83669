export interface LocalService {
  url: string;
  pid: number;
  stop(): Promise<void>;
}
