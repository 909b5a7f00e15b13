/**
 * Local stand-ins for the destinations, each on 127.0.0.1 with a free port, and the
 * destination object for each that the stand-in accepts (its credentials included).
 *
 * Every stand-in is a starter of packages/testkit, the same ones the tests and the
 * destinations' behaviour suite use: s3rver with the multipart calls it lacks, azurite as
 * a child process, ftp-srv on a temporary folder, the HTTP receiver, and the YouTube,
 * Graph, Dropbox, Cloud Storage, Google Drive, Mux, Vimeo and TikTok fakes (Vimeo's in front of a real tus server). S3 and Azure
 * are reached through the testkit's TCP proxy, so that `throttle` can slow them down too.
 * SFTP is Debian's sshd (startSshd), which needs root: without it the demo leaves SFTP out
 * and says why.
 * WebDAV is Debian's Apache with mod_dav, where it can run (installed by scripts/bootstrap,
 * started as root); elsewhere it is left out, and the terminal says why.
 * TikTok takes auth_secret only: `connectAccounts` stores a credential of the TikTok OAuth
 * fake in the demo's Redis, as the connect flow would, once the Redis runs.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { SecretBox } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import {
  apacheWebdavUnavailable,
  AZURITE_ACCOUNT,
  BASIC_PASSWORD,
  BASIC_USER,
  startApacheWebdav,
  AZURITE_KEY,
  DRIVE_FAKE_TOKEN,
  S3RVER_KEY,
  S3RVER_SECRET,
  startAzurite,
  startDropboxFake,
  startMuxFake,
  MUX_FAKE_TOKEN_ID,
  MUX_FAKE_TOKEN_SECRET,
  startFakeGraph,
  startFtpServer,
  startGcsFake,
  startGoogleDriveFake,
  startHttpReceiver,
  startS3Server,
  sshdUnavailable,
  startSshd,
  startTcpProxy,
  startTikTokStandIn,
  startVimeoFake,
  startYouTubeFake,
  VIMEO_FAKE_TOKEN,
  YOUTUBE_FAKE_TOKEN,
} from '@upload-fleet/testkit';

export interface StandIns {
  /** One destination per type, in the order the delivery lists them. */
  destinations: Record<string, unknown>[];
  /** Worker settings that point the adapters at the stand-ins. */
  env: Record<string, string>;
  /** Where each stand-in listens, for the terminal. */
  endpoints: Record<string, string>;
  /** Stores the credentials of destinations that take auth_secret only (TikTok) where the fleet keeps them. */
  connectAccounts(fleet: { redisUrl: string; prefix: string; secretBox: SecretBox }): Promise<void>;
  /** Slows every stand-in down to this many bytes per second per upload (0: full speed), so progress is visible. */
  throttle(bytesPerSecond: number): void;
  close(): Promise<void>;
}

const BUCKET = 'demo';
const CONTAINER = 'demo';
const R2_ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const FTP_USER = 'demo';
const FTP_PASSWORD = 'demo-ftp-password';

export async function startStandIns(fileName: string): Promise<StandIns> {
  const closers: (() => Promise<void>)[] = [];
  const started = <T extends { close(): Promise<void> }>(server: T): T => {
    closers.push(() => server.close());
    return server;
  };
  try {
    const [s3, azurite, ftp, http, youtube, graph, dropbox, mux, vimeo] = await Promise.all([
      startS3Server({ buckets: [BUCKET] }).then(started),
      startAzurite().then(started),
      startFtpServer({ users: { [FTP_USER]: FTP_PASSWORD } }).then(started),
      startHttpReceiver().then(started),
      startYouTubeFake().then(started),
      startFakeGraph().then(started),
      startDropboxFake().then(started),
      startMuxFake().then(started),
      startVimeoFake().then(started),
    ]);
    const webdav = apacheWebdavUnavailable ? undefined : await startApacheWebdav().then(started);
    await azurite.service.getContainerClient(CONTAINER).create();
    const gcs = await startGcsFake({ buckets: [BUCKET] }).then(started);
    const drive = await startGoogleDriveFake().then(started);
    // s3rver and azurite cannot be slowed down themselves: the adapters reach them through
    // the testkit's TCP proxy, which can.
    const [s3Proxy, azureProxy] = await Promise.all([startTcpProxy(s3.port).then(started), startTcpProxy(azurite.port).then(started)]);
    const sftp = sshdUnavailable ? undefined : started(await startSshd());
    const tiktok = await startTikTokStandIn({ publishAfterMs: 50 }).then(started);
    const title = 'Welcome to upload-fleet';
    // Filled in by connectAccounts before the delivery is submitted.
    const tiktokDestination: Record<string, unknown> = { type: 'tiktok', title: `${title} #demo`, privacy_level: 'PUBLIC_TO_EVERYONE', disable_duet: true, auth_secret: '' };
    return {
      destinations: [
        { type: 's3', bucket: BUCKET, filename: `renders/${fileName}`, aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET, s3host: `127.0.0.1:${s3Proxy.port}` },
        // S3-compatible providers on the same server: MinIO at its host, R2 through the
        // operator's endpoint template (S3_R2_ENDPOINT below), both path-style. B2, Wasabi
        // and Spaces address buckets by virtual host, names no local resolver answers.
        { type: 's3', provider: 'minio', s3host: `127.0.0.1:${s3Proxy.port}`, bucket: BUCKET, filename: `minio/${fileName}`, aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET },
        { type: 's3', provider: 'r2', account_id: R2_ACCOUNT_ID, bucket: BUCKET, filename: `r2/${fileName}`, aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET },
        { type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, container: CONTAINER, filename: `renders/${fileName}` },
        { type: 'youtube', title, description: 'Delivered by pnpm demo.', category: '22', status: 'unlisted', oauth_access_token: YOUTUBE_FAKE_TOKEN },
        { type: 'facebook', title, description: 'Delivered by pnpm demo.', oauth_access_token: graph.token, endpoint: graph.url },
        { type: 'dropbox', filename: `renders/${fileName}`, oauth_token: dropbox.token },
        { type: 'http', url: `${http.url}/upload`, filename: fileName, method: 'POST', headers: { Authorization: 'Bearer demo-http-token' } },
        { type: 'ftp', host: ftp.host, filename: `/renders/${fileName}`, user: FTP_USER, password: FTP_PASSWORD },
        { type: 'mux', token_id: MUX_FAKE_TOKEN_ID, token_secret: MUX_FAKE_TOKEN_SECRET, passthrough: `renders/${fileName}`, test: true },
        { type: 'vimeo', name: title, description: 'Delivered by pnpm demo.', privacy: { view: 'unlisted' }, oauth_access_token: VIMEO_FAKE_TOKEN },
        ...(sftp
          ? [{ type: 'sftp', host: sftp.host, filename: join(sftp.root, 'renders', fileName), user: sftp.user, private_key: sftp.privateKey, host_key: sftp.hostKeyFingerprint }]
          : []),
        ...(webdav ? [{ type: 'webdav', url: `${webdav.url}/basic/`, filename: `renders/${fileName}`, user: BASIC_USER, password: BASIC_PASSWORD }] : []),
        { type: 'gcs', bucket: BUCKET, filename: `renders/${fileName}`, credentials: gcs.serviceAccountKey() },
        { type: 'googledrive', filename: fileName, description: 'Delivered by pnpm demo.', oauth_access_token: DRIVE_FAKE_TOKEN },
        tiktokDestination,
      ],
      env: {
        S3_R2_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
        AZURE_BLOB_ENDPOINT: `http://127.0.0.1:${azureProxy.port}/{account}`,
        YOUTUBE_API_BASE_URL: youtube.apiBaseUrl,
        YOUTUBE_UPLOAD_BASE_URL: youtube.uploadBaseUrl,
        DROPBOX_API_BASE_URL: dropbox.apiBaseUrl,
        DROPBOX_CONTENT_BASE_URL: dropbox.contentBaseUrl,
        MUX_API_BASE_URL: mux.apiBaseUrl,
        VIMEO_API_BASE_URL: vimeo.apiBaseUrl,
        VIMEO_CHUNK_BYTES: String(1024 * 1024),
        GCS_API_BASE_URL: gcs.url,
        GOOGLEDRIVE_API_BASE_URL: drive.apiBaseUrl,
        GOOGLEDRIVE_UPLOAD_BASE_URL: drive.uploadBaseUrl,
        TIKTOK_API_BASE_URL: tiktok.api.apiBaseUrl,
        TIKTOK_STATUS_POLL_MS: '100',
        TIKTOK_OAUTH_CLIENT_ID: tiktok.oauth.clientId,
        TIKTOK_OAUTH_CLIENT_SECRET: tiktok.oauth.clientSecret,
        TIKTOK_OAUTH_AUTH_URL: tiktok.oauth.authorizeUrl,
        TIKTOK_OAUTH_TOKEN_URL: tiktok.oauth.tokenUrl,
        ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
      },
      endpoints: {
        s3: `${s3.endpoint} (s3rver, bucket "${BUCKET}"; also as MinIO and as Cloudflare R2)`,
        azureblob: `http://127.0.0.1:${azurite.port}/${AZURITE_ACCOUNT} (azurite, container "${CONTAINER}")`,
        youtube: `${youtube.uploadBaseUrl} (YouTube fake)`,
        facebook: `${graph.url} (Graph fake)`,
        dropbox: `${dropbox.contentBaseUrl} (Dropbox fake)`,
        http: `${http.url} (HTTP receiver)`,
        ftp: `ftp://${ftp.host} (ftp-srv, folder ${ftp.root})`,
        mux: `${mux.apiBaseUrl} (Mux fake)`,
        vimeo: `${vimeo.apiBaseUrl} (Vimeo fake, uploads to @tus/server at ${vimeo.tusUrl})`,
        sftp: sftp ? `sftp://${sftp.host} (OpenSSH sshd, folder ${sftp.root})` : `left out: ${sshdUnavailable}`,
        webdav: webdav ? `${webdav.url}/basic/ (Apache mod_dav, folder ${webdav.root}/basic)` : `left out: ${apacheWebdavUnavailable}`,
        gcs: `${gcs.url} (Cloud Storage fake, bucket "${BUCKET}")`,
        googledrive: `${drive.uploadBaseUrl} (Google Drive fake, My Drive)`,
        tiktok: `${tiktok.api.apiBaseUrl} (TikTok Content Posting API fake; OAuth fake at ${tiktok.oauth.url})`,
      },
      async connectAccounts(fleet) {
        const connection = new Redis(fleet.redisUrl);
        try {
          const store = new CredentialStore({ connection, prefix: fleet.prefix, secretBox: fleet.secretBox });
          const refreshToken = tiktok.oauth.issueRefreshToken({ scope: 'user.info.basic,video.publish' });
          tiktokDestination.auth_secret = (await store.create({ provider: 'tiktok', owner: 'demo', refreshToken })).authSecret;
        } finally {
          connection.disconnect();
        }
      },
      throttle(bytesPerSecond) {
        s3Proxy.setThrottle(bytesPerSecond);
        azureProxy.setThrottle(bytesPerSecond);
        youtube.throttle(bytesPerSecond);
        graph.setThrottle(bytesPerSecond);
        dropbox.throttle(bytesPerSecond);
        http.setThrottle(bytesPerSecond);
        ftp.throttle(bytesPerSecond);
        mux.throttle(bytesPerSecond);
        vimeo.throttle(bytesPerSecond);
        sftp?.meter.setRate(bytesPerSecond);
        webdav?.proxy.setThrottle(bytesPerSecond);
        gcs.throttle(bytesPerSecond);
        drive.throttle(bytesPerSecond);
        tiktok.api.throttle(bytesPerSecond);
      },
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  await Promise.all(closers.map((close) => close().catch(() => undefined)));
}
