/**
 * What attestation files may be: a short list of document types, each recognised by its content as
 * well as its name, so a renamed executable is not stored as "evidence.pdf".
 */
interface FileType {
  extensions: string[];
  matches(content: Buffer): boolean;
}

const startsWith = (magic: number[]) => (content: Buffer) => magic.every((byte, i) => content[i] === byte);
const isText = (content: Buffer) => !content.includes(0) && Buffer.from(content.toString('utf8'), 'utf8').equals(content);
const ZIP = startsWith([0x50, 0x4b, 0x03, 0x04]);

export const FILE_TYPES: Record<string, FileType> = {
  'application/pdf': { extensions: ['.pdf'], matches: startsWith([0x25, 0x50, 0x44, 0x46, 0x2d]) },
  'image/png': { extensions: ['.png'], matches: startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  'image/jpeg': { extensions: ['.jpg', '.jpeg'], matches: startsWith([0xff, 0xd8, 0xff]) },
  'text/plain': { extensions: ['.txt', '.log'], matches: isText },
  'text/csv': { extensions: ['.csv'], matches: isText },
  'text/markdown': { extensions: ['.md'], matches: isText },
  'application/json': {
    extensions: ['.json'],
    matches: (content) => {
      try {
        JSON.parse(content.toString('utf8'));
        return isText(content);
      } catch {
        return false;
      }
    },
  },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { extensions: ['.xlsx'], matches: ZIP },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { extensions: ['.docx'], matches: ZIP },
};

export const MEDIA_TYPES = Object.keys(FILE_TYPES);

/** Why a file is refused, or undefined when it is acceptable. */
export function fileProblem(file: { filename: string; media_type: string }, content: Buffer, maxBytes: number): string | undefined {
  const type = FILE_TYPES[file.media_type];
  if (!type) return `media_type must be one of ${MEDIA_TYPES.join(', ')}`;
  if (!type.extensions.some((ext) => file.filename.toLowerCase().endsWith(ext))) return `a ${file.media_type} file must be named *${type.extensions.join(' or *')}`;
  if (content.length === 0) return 'the file is empty';
  if (content.length > maxBytes) return `the file is ${content.length} bytes; at most ${maxBytes} are accepted`;
  if (!type.matches(content)) return `the content is not ${file.media_type}`;
  return undefined;
}
