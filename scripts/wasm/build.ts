/** `npm run build:wasm`: regenerates src/engine/wasm/gemmWasm.ts from src/engine/wasm/gemm.wat. */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generateGemmModule, GENERATED_PATH, ROOT } from './assemble';

generateGemmModule().then(
  (text) => {
    writeFileSync(GENERATED_PATH, text);
    console.log(`wrote ${relative(ROOT, GENERATED_PATH)}`);
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
