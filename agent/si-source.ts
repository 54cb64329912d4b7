// systeminformation, injected so collector tests can feed results recorded on real boards.
// Only functions that are cheap on a Pi belong here (no child process per call).
//
// The procfs collectors (cpusNumber, cpu, mem, disk, partitions, ioRatio, processesNumber,
// process, systemAdditionalInfo) do not use it: they read /proc and /sys directly, which
// is cheaper and gives exactly the figures of the tools of the original design. Measured
// on Linux (systeminformation 5.33): processes() runs ps, fsSize() runs df, users() runs
// who and w, blockDevices() runs lsblk, networkInterfaces() spawns too, cpu()
// runs lscpu — none of those may be called on every cycle. mem() only reads /proc/meminfo.
import si from 'systeminformation';

export interface SiSource {
  /** Reads /proc/meminfo; no child process on Linux. */
  mem(): Promise<si.Systeminformation.MemData>;
}

export const realSi: SiSource = {
  mem: () => si.mem(),
};
