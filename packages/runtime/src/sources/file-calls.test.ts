import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileCallsInEffect, inlineFileCallsUnder, onlyLocalFileSystemsUnder, parseMountInfo, type Mount } from './file-calls.js';

// Lines as /proc/self/mountinfo writes them (proc(5)): optional fields before the "-", octal escapes in paths.
const MOUNT_INFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '23 22 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:21 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw',
  '40 22 0:40 / /srv/renders rw,relatime shared:20 master:4 - nfs4 fileserver:/renders rw,vers=4.2',
  '41 22 0:41 / /srv/local\\040cuts rw,relatime - xfs /dev/vdb rw',
  '42 41 0:42 / /srv/local\\040cuts/remote rw,relatime - fuse.sshfs user@host:/cuts rw',
  '43 22 0:43 / /data rw - overlay overlay rw,lowerdir=/l,upperdir=/u',
  '',
].join('\n');

describe('the file systems under SOURCE_ROOT', () => {
  const mounts = parseMountInfo(MOUNT_INFO);

  it('reads each mount point and type, optional fields skipped and escapes undone', () => {
    expect(mounts).toEqual<Mount[]>([
      { mountPoint: '/', type: 'ext4' },
      { mountPoint: '/proc', type: 'proc' },
      { mountPoint: '/dev/shm', type: 'tmpfs' },
      { mountPoint: '/srv/renders', type: 'nfs4' },
      { mountPoint: '/srv/local cuts', type: 'xfs' },
      { mountPoint: '/srv/local cuts/remote', type: 'fuse.sshfs' },
      { mountPoint: '/data', type: 'overlay' },
    ]);
  });

  it('calls a root local when the mount that holds it and every mount inside it are local', () => {
    expect(onlyLocalFileSystemsUnder('/home/renders', mounts)).toBe(true); // on / (ext4)
    expect(onlyLocalFileSystemsUnder('/dev/shm/renders', mounts)).toBe(true);
    expect(onlyLocalFileSystemsUnder('/data', mounts)).toBe(true);
    // A mount point that only starts with the same letters is another folder.
    expect(onlyLocalFileSystemsUnder('/srv/renders-old', mounts)).toBe(true);
  });

  it('calls a root remote when it lies on a network file system, or one is mounted inside it', () => {
    expect(onlyLocalFileSystemsUnder('/srv/renders', mounts)).toBe(false);
    expect(onlyLocalFileSystemsUnder('/srv/renders/2026', mounts)).toBe(false);
    expect(onlyLocalFileSystemsUnder('/srv/local cuts', mounts)).toBe(false); // xfs, but sshfs inside
    expect(onlyLocalFileSystemsUnder('/srv/local cuts/remote/a', mounts)).toBe(false);
    expect(onlyLocalFileSystemsUnder('/srv', mounts)).toBe(false);
    expect(onlyLocalFileSystemsUnder('/', mounts)).toBe(false);
  });

  it('takes the mount that hides the others on the same point, and a type it does not know as remote', () => {
    const stacked = parseMountInfo(['1 0 0:1 / / rw - ext4 /dev/vda rw', '2 1 0:2 / /mnt rw - nfs server:/x rw', '3 1 0:3 / /mnt rw - tmpfs tmpfs rw'].join('\n'));
    expect(onlyLocalFileSystemsUnder('/mnt/renders', stacked)).toBe(true);
    const unknown = parseMountInfo(['1 0 0:1 / / rw - ext4 /dev/vda rw', '2 1 0:2 / /mnt rw - autofs systemd-1 rw'].join('\n'));
    expect(onlyLocalFileSystemsUnder('/mnt/renders', unknown)).toBe(false);
    expect(onlyLocalFileSystemsUnder('/anything', [])).toBe(false);
  });

  it('lets the operator choose either way, whatever the mounts', () => {
    expect(inlineFileCallsUnder('/srv/renders', 'inline')).toBe(true);
    expect(inlineFileCallsUnder('/dev/shm', 'thread-pool')).toBe(false);
  });

  const ownMounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  it.runIf(ownMounts.some((m) => m.mountPoint === '/dev/shm' && m.type === 'tmpfs'))('decides auto from this process\'s own mount table: a memory file system is local', () => {
    expect(inlineFileCallsUnder('/dev/shm/renders-of-this-test', 'auto')).toBe(true);
  });

  it.runIf(ownMounts.some((m) => m.mountPoint === '/dev/shm' && m.type === 'tmpfs'))('says in the start-up line what auto chose, or that a missing root is decided later', async () => {
    expect(await fileCallsInEffect('/dev/shm', 'auto')).toBe('auto: inline (only local file systems under SOURCE_ROOT)');
    expect(await fileCallsInEffect('/dev/shm/no-such-root-of-this-test', 'auto')).toContain('decided at the first upload');
    expect(await fileCallsInEffect('/dev/shm', 'thread-pool')).toBe('thread-pool');
  });
});
