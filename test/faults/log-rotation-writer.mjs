// A busy app for the sustained-load fault row: appends `rate` cost lines per second (in batches
// every 10 ms) to the log for `seconds`, and rotates it under the watchdog the ways apps and
// logrotate do: renamed away and reopened (RotatingFileHandler), copied then truncated
// (logrotate copytruncate), rewritten in place keeping its last lines (Cost Control rotate_log).
// Prints the number of lines written when done.
// usage: node log-rotation-writer.mjs <log> <rate> <seconds> <plan: comma-separated
// rename|copytruncate|rotate_log>
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';

const [log, rateText, secondsText, planText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const plan = planText.split(',');
const BATCH_MS = 10;

function shift() {
  for (let i = 9; i >= 1; i--) if (existsSync(`${log}.${i}`)) renameSync(`${log}.${i}`, `${log}.${i + 1}`);
}

let fd = openSync(log, 'a');
let written = 0;
let id = 0;
const start = Date.now();
const end = start + seconds * 1000;
const every = (seconds * 1000) / (plan.length + 1);
let next = 0;
while (Date.now() < end) {
  const due = Math.min(Math.floor(((Date.now() - start) / 1000) * rate), rate * seconds);
  let text = '';
  const t = (Date.now() / 1000).toFixed(3);
  for (; written < due; written++)
    text += `{"t":${t},"request_id":"w${++id}","in":1200,"out":300,"cost":0.01}\n`;
  if (text.length > 0) writeSync(fd, text);
  if (next < plan.length && Date.now() - start >= every * (next + 1)) {
    const how = plan[next++];
    if (how === 'rename') {
      shift();
      renameSync(log, `${log}.1`);
      closeSync(fd);
      fd = openSync(log, 'a');
    } else if (how === 'copytruncate') {
      shift();
      copyFileSync(log, `${log}.1`);
      // then truncated, as logrotate does after the copy; the app's O_APPEND handle writes at the new end
      truncateSync(log, 0);
    } else if (how === 'rotate_log') {
      const all = readFileSync(log, 'utf8').split('\n').slice(0, -1);
      writeFileSync(
        log,
        all
          .slice(-500)
          .map((l) => `${l}\n`)
          .join(''),
      );
    }
  }
  await new Promise((r) => setTimeout(r, BATCH_MS));
}
let rest = '';
for (; written < rate * seconds; written++)
  rest += `{"t":${(Date.now() / 1000).toFixed(3)},"request_id":"w${++id}","in":1200,"out":300,"cost":0.01}\n`;
if (rest.length > 0) writeSync(fd, rest);
closeSync(fd);
process.stdout.write(`${written}\n`);
