// Regenerate the example units shipped in systemd/ from src/core/units.ts (the same code that
// `cost-watchdog systemd` prints with). A unit test fails when they drift apart.
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = await build({
  entryPoints: ['src/core/units.ts'],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  logLevel: 'warning',
});
const code = out.outputFiles[0].text;
const { systemdUnits, SHIPPED_UNITS } = await import(
  `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`
);
for (const unit of systemdUnits(SHIPPED_UNITS)) {
  writeFileSync(new URL(`../systemd/${unit.name}`, import.meta.url), unit.text);
  console.log(`wrote systemd/${unit.name}`);
}
