#!/usr/bin/env -S node --max-semi-space-size=1
// A small young generation: backups stream many short-lived buffers, and collecting them
// soon keeps peak memory flat (measured: about 50 MiB less on a 1 GiB backup to S3).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv);
