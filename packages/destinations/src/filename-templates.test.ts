import { describe, expect, it } from 'vitest';
import { expandTemplate, extensionOfSource, templateProblems, type TemplateValues } from './filename-templates.js';
import { expandDeliveryTemplates, validateDeliveryRequest } from './definitions.js';

const values: TemplateValues = {
  token: 'dlv_abc',
  index: 2,
  extension: 'mp4',
  metadata: { show: 'news', episode: 12, final: true },
  now: new Date(Date.UTC(2026, 11, 3, 7, 5, 9)),
  uuid: () => '00000000-0000-4000-8000-000000000001',
};

describe('filename templates', () => {
  it('expands every variable, the date in UTC with the format given', () => {
    expect(expandTemplate('${metadata.show}/${date:YYYY/MM/DD}/${token}-${index}.${extension}', values)).toBe('news/2026/12/03/dlv_abc-2.mp4');
    expect(expandTemplate('${date}_${date:HHmmss}_${uuid}_${metadata.episode}_${metadata.final}', values)).toBe('2026-12-03_070509_00000000-0000-4000-8000-000000000001_12_true');
    expect(expandTemplate('plain/name.mp4 costs $5', values)).toBe('plain/name.mp4 costs $5');
  });

  it('names each variable it cannot expand, at the field', () => {
    const problems = templateProblems('${tokn}/${metadata.missing}/${date:yyyy}/${extension}', 'upload.destination.filename', { ...values, extension: undefined });
    expect(problems.map((p) => p.path)).toEqual(Array(4).fill('upload.destination.filename'));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('${tokn} is not a known variable'),
      expect.stringContaining('"missing", which the delivery\'s metadata does not hold'),
      expect.stringContaining('${date:yyyy} has a date format with letters other than YYYY'),
      expect.stringContaining('${extension} needs an extension'),
    ]);
  });

  it('takes the extension of a source path or URL', () => {
    expect(extensionOfSource({ path: 'renders/a.b/welcome.mov' })).toBe('mov');
    expect(extensionOfSource({ url: 'https://media.example.com/x/clip.webm?sig=a.b' })).toBe('webm');
    expect(extensionOfSource({ path: 'renders/a.b/welcome' })).toBeUndefined();
  });

  it('is a 400 at submit time for an unknown variable, and for a name the destination refuses once expanded', () => {
    const unknown = validateDeliveryRequest({ source: { path: 'a.mp4' }, uploads: [{ destination: { type: 'ftp', host: 'ftp.example.com', filename: '/ok.mp4' } }, { destination: { type: 'ftp', host: 'ftp.example.com', filename: '/${index}-${when}.mp4' } }] });
    expect(unknown.ok ? [] : unknown.problems).toEqual([{ path: 'uploads.1.destination.filename', message: expect.stringContaining('${when} is not a known variable') }]);

    // WebDAV refuses ".." segments: a metadata value that makes one is caught after expansion.
    const input = { source: { path: 'a.mp4' }, metadata: { folder: '..' }, upload: { destination: { type: 'webdav', url: 'https://dav.example.com/files/', filename: '${metadata.folder}/a.mp4' } } };
    const validated = validateDeliveryRequest(input);
    if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
    const expanded = expandDeliveryTemplates(input, validated.value, { token: 'dlv_x', now: new Date() });
    expect(expanded.ok ? [] : expanded.problems).toEqual([{ path: 'upload.destination.filename', message: expect.stringMatching(/^after expanding its variables: filename must not contain "\." or "\.\." segments/) }]);
  });
});
