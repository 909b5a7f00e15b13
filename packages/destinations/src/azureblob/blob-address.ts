import { FleetError } from '@upload-fleet/core';
import { AZURE_ROOT_CONTAINER, type AzureBlobDestination } from './definition.js';

/**
 * Where a blob lives: the service URL from the operator's endpoint template, and the
 * container and blob name from the job, each checked against Azure's naming rules
 * (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).
 *
 * The account name goes into the endpoint's host (`https://{account}.blob.core.windows.net`),
 * so it must be a plain account name: "evil.example#" would otherwise move the upload, and
 * the account key's signature, to another host.
 */
export interface BlobAddress {
  account: string;
  container: string;
  blob: string;
  /** The blob service of the account, without a trailing slash. */
  serviceUrl: string;
  /** The blob's URL: container as is, each segment of the name percent-encoded, slashes kept. */
  url: string;
  host: string;
}

const ACCOUNT = /^[a-z0-9]{3,24}$/;
/** 3 to 63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const SPECIAL_CONTAINERS = new Set([AZURE_ROOT_CONTAINER, '$web', '$logs']);
const MAX_BLOB_NAME = 1024;

/** Checks the operator's endpoint template once, when the adapter is created. */
export function checkEndpointTemplate(template: string): void {
  let url: URL;
  try {
    url = new URL(template.replaceAll('{account}', 'account'));
  } catch {
    throw new FleetError('UF_CONFIGURATION', `AZURE_BLOB_ENDPOINT is not a URL: ${template}`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new FleetError('UF_CONFIGURATION', `AZURE_BLOB_ENDPOINT must be a plain http(s) URL without credentials, query or fragment, like https://{account}.blob.core.windows.net (got ${template})`);
  }
}

export function blobAddress(endpointTemplate: string, destination: AzureBlobDestination): BlobAddress {
  const { account, filename: blob } = destination;
  const container = destination.container ?? AZURE_ROOT_CONTAINER;
  if (!ACCOUNT.test(account)) {
    throw invalid(`The storage account name "${account}" is not valid: 3 to 24 lowercase letters and digits`);
  }
  if (!CONTAINER.test(container) && !SPECIAL_CONTAINERS.has(container)) {
    throw invalid(`The container name "${container}" is not valid: 3 to 63 lowercase letters, digits and single hyphens, starting with a letter or digit`);
  }
  const segments = blob.split('/');
  if (blob.length > MAX_BLOB_NAME) throw invalid(`The blob name is ${blob.length} characters long; Azure allows at most ${MAX_BLOB_NAME}`);
  // URLs resolve "." and ".." segments (encoded or not), so such a name would name another
  // blob, or another container; a trailing slash names a "directory", not a file.
  if (segments.some((segment) => segment === '.' || segment === '..') || blob.endsWith('/')) {
    throw invalid(`The blob name "${blob}" cannot be stored: it has a "." or ".." segment or ends with "/"`);
  }
  const serviceUrl = endpointTemplate.replaceAll('{account}', account).replace(/\/+$/, '');
  const url = `${serviceUrl}/${container}/${segments.map(encodeURIComponent).join('/')}`;
  return { account, container, blob, serviceUrl, url, host: new URL(serviceUrl).host };
}

function invalid(message: string): FleetError {
  return new FleetError('UF_INVALID_REQUEST', message, { destination: 'azureblob' });
}
