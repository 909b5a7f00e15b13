/**
 * The registry: every destination this build knows, one line each (like rclone's
 * backend/all). Adding a destination is its folder plus one line here; everything that
 * lists or switches over destination types is derived from these definitions
 * (`definitions.ts`). The names exported here are the destination types.
 */
export { azureBlobDefinition as azureblob } from './azureblob/definition.js';
export { dropboxDefinition as dropbox } from './dropbox/definition.js';
export { facebookDefinition as facebook } from './facebook/definition.js';
export { ftpDefinition as ftp } from './ftp/definition.js';
export { gcsDefinition as gcs } from './gcs/definition.js';
export { googleDriveDefinition as googledrive } from './googledrive/definition.js';
export { httpDefinition as http } from './http/definition.js';
export { muxDefinition as mux } from './mux/definition.js';
export { s3Definition as s3 } from './s3/definition.js';
export { sftpDefinition as sftp } from './sftp/definition.js';
export { tiktokDefinition as tiktok } from './tiktok/definition.js';
export { vimeoDefinition as vimeo } from './vimeo/definition.js';
export { webdavDefinition as webdav } from './webdav/definition.js';
export { youtubeDefinition as youtube } from './youtube/definition.js';
