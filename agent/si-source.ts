// systeminformation, injected so collector tests can feed results recorded on real boards.
// Only functions that are cheap on a Pi belong here (no child process per call).
import si from 'systeminformation';

export interface SiSource {
  mem(): Promise<si.Systeminformation.MemData>;
}

export const realSi: SiSource = {
  mem: () => si.mem(),
};
