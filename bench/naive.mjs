// The script a user would otherwise write: readline + JSON.parse + sum. The baseline for the
// full-scan target.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const rl = createInterface({ input: createReadStream(process.argv[2]), crlfDelay: Infinity });
let sum = 0;
let lines = 0;
for await (const line of rl) {
  if (line === '') continue;
  try {
    const o = JSON.parse(line);
    sum += o.cost_usd ?? o.cost ?? 0;
    lines++;
  } catch {
    // a real script would count these
  }
}
console.log(JSON.stringify({ lines, sum }));
