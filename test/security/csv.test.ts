/** Issue 13: the CSV formula guard missed a leading tab or carriage return. */
import t from 'tap';
import { csvField } from '../../src/evidence/export.js';

t.test('fields a spreadsheet could run as a formula are neutralised', async (t) => {
  for (const [value, expected] of [
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1', "'+1"],
    ['-1+2', "'-1+2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1+2', "'\t=1+2"],
    ['\r=1+2', `"'\r=1+2"`],
    ['\uFF1D1+2', "'\uFF1D1+2"],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
  ]) {
    t.equal(csvField(value), expected, JSON.stringify(value));
  }
});
