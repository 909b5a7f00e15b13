import { readFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';

/**
 * How a path source makes its file system calls (SOURCE_FILE_CALLS):
 *
 * - `thread-pool`: each call (open, readlink, fstat, read, close) goes to libuv's thread pool
 *   and back. The event loop never waits on the file system, but every call costs two
 *   wake-ups across threads: on a busy 2-core worker, a tiny upload's five calls took about
 *   a fifth of its CPU (0.61–0.65 ms per 1 KiB delivery against 0.50–0.51 inline, `pnpm
 *   bench`'s tiny row in alternating runs; 24 % of the worker's profile was in those calls).
 * - `inline`: the calls run on the event loop, synchronously, except reads larger than
 *   INLINE_READ_MAX_BYTES (a 4 MiB read from a cold cache waits on the disk). On a local
 *   file system each is a few microseconds; on a network file system each can be a round
 *   trip to its server, and a server that hangs would hang the event loop with it (lock
 *   renewals, health checks, every other upload).
 * - `auto` (the default): `inline` where the mount table shows only local file systems at
 *   SOURCE_ROOT and beneath it, `thread-pool` otherwise (NFS, SMB, FUSE, Ceph, an
 *   automount point, or any type not known to be local) and where there is no mount table.
 */
export const SOURCE_FILE_CALL_MODES = ['auto', 'inline', 'thread-pool'] as const;

export type SourceFileCalls = (typeof SOURCE_FILE_CALL_MODES)[number];

/** Reads up to this size run inline in `inline` mode (a tiny file's whole read); larger ones go to the thread pool. */
export const INLINE_READ_MAX_BYTES = 64 * 1024;

/**
 * File system types whose calls never leave this machine: disks, memory, the union file
 * systems containers are built of, and the kernel's own (a root of `/` holds /proc and
 * /sys). Anything else (nfs, nfs4, cifs, smb3, fuse.*, ceph, glusterfs, 9p, virtiofs,
 * autofs, …) is taken to be able to wait on a network.
 */
const LOCAL_FILE_SYSTEM_TYPES = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'bcachefs', 'zfs', 'f2fs', 'jfs', 'reiserfs',
  'tmpfs', 'ramfs', 'overlay', 'squashfs', 'erofs', 'iso9660', 'vfat', 'exfat', 'ntfs3', 'hfsplus',
  'rootfs', 'proc', 'sysfs', 'devtmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2', 'pstore', 'bpf',
  'securityfs', 'debugfs', 'tracefs', 'configfs', 'hugetlbfs', 'binfmt_misc', 'nsfs', 'fusectl',
]);

export interface Mount {
  /** Where it is mounted, as the kernel names it (octal escapes undone). */
  mountPoint: string;
  /** Its file system type (`ext4`, `nfs4`, `fuse.sshfs`). */
  type: string;
}

/**
 * The mounts of /proc/self/mountinfo, in the kernel's order (a later mount on the same point
 * hides the earlier). A line: `id parent major:minor root mount-point options [optional
 * fields…] - type source super-options` (proc(5)).
 */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 7 || separator === -1) continue;
    mounts.push({ mountPoint: unescapeMountField(fields[4]!), type: fields[separator + 1]! });
  }
  return mounts;
}

/** The kernel writes a space, tab, newline and backslash in a mount point as \040, \011, \012 and \134. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Whether every file under `realRoot` lies on a local file system: the mount that holds the
 * root itself (the last of the longest mount points that contain it) and every mount inside
 * it. A symbolic link inside the root that leads out of it is refused after its open, so its
 * target's file system is not considered.
 */
export function onlyLocalFileSystemsUnder(realRoot: string, mounts: readonly Mount[]): boolean {
  const contains = (mountPoint: string, target: string) => mountPoint === '/' || target === mountPoint || target.startsWith(`${mountPoint}/`);
  let holder: Mount | undefined;
  for (const mount of mounts) {
    if (contains(mount.mountPoint, realRoot) && (!holder || mount.mountPoint.length >= holder.mountPoint.length)) holder = mount;
  }
  if (!holder || !LOCAL_FILE_SYSTEM_TYPES.has(holder.type)) return false;
  return mounts.every((mount) => mount.mountPoint === realRoot || !contains(realRoot, mount.mountPoint) || LOCAL_FILE_SYSTEM_TYPES.has(mount.type));
}

/** How long a root's answer is kept: a file system mounted under SOURCE_ROOT later is seen within it. */
const MOUNT_TABLE_TTL_MS = 60_000;
const decided = new Map<string, { inline: boolean; until: number }>();

/**
 * Whether the file calls on files under `realRoot` run inline (see SourceFileCalls). `auto`
 * reads the mount table at most once a minute per root: /proc is the kernel's memory, so
 * that read itself never waits on a disk or a network.
 */
export function inlineFileCallsUnder(realRoot: string, mode: SourceFileCalls): boolean {
  if (mode !== 'auto') return mode === 'inline';
  const now = Date.now();
  const known = decided.get(realRoot);
  if (known && known.until > now) return known.inline;
  let inline: boolean;
  try {
    inline = onlyLocalFileSystemsUnder(realRoot, parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')));
  } catch {
    inline = false; // no mount table (not Linux, or /proc not mounted): the thread pool is safe everywhere
  }
  decided.set(realRoot, { inline, until: now + MOUNT_TABLE_TTL_MS });
  return inline;
}

/**
 * What the file calls under SOURCE_ROOT are now, in words for the worker's start-up line, so
 * an operator sees what `auto` chose. A root that cannot be read yet is decided at its first upload.
 */
export async function fileCallsInEffect(sourceRoot: string, mode: SourceFileCalls): Promise<string> {
  if (mode !== 'auto') return mode;
  let realRoot: string;
  try {
    realRoot = await realpath(sourceRoot);
  } catch {
    return 'auto: decided at the first upload (SOURCE_ROOT cannot be read yet)';
  }
  return inlineFileCallsUnder(realRoot, 'auto') ? 'auto: inline (only local file systems under SOURCE_ROOT)' : 'auto: thread-pool (a network, FUSE or unknown file system under SOURCE_ROOT)';
}
