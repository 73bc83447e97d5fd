import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{createNewFile}from"./chunk-65OSJMR5.js";import{generateEncryptionKey,generateSigningKey}from"./chunk-X55PCTXF.js";import{json}from"./chunk-6LMZPCXP.js";import{UsageError}from"./chunk-AJCN2VOP.js";import"./chunk-AEGWD7ST.js";import"./chunk-RNQQKIBZ.js";import{mkdir}from"node:fs/promises";import{hostname}from"node:os";import{join}from"node:path";async function initialize(opts){for(let[flag,path]of[["--dir",opts.dir],["--state-dir",opts.stateDir],["--backup-dir",opts.backupDir]])if(!path.startsWith("/"))throw new UsageError(`${flag} must be an absolute path, not ${path}`);let keys=join(opts.dir,"keys"),result={config:join(opts.dir,"drd.yaml"),recipientPublic:join(keys,"backup-public.asc"),recipientSecret:join(keys,"backup-secret.asc"),recipientFingerprint:"",signingSecret:join(keys,"signing-secret.asc"),signingPublic:join(keys,"signing-public.asc"),signingFingerprint:""};await mkdir(keys,{recursive:!0,mode:448});let[recipient,signing]=await Promise.all([generateEncryptionKey(`drd backups (${hostname()})`),generateSigningKey(`drd manifest signing (${hostname()})`)]);return result.recipientFingerprint=recipient.fingerprint,result.signingFingerprint=signing.fingerprint,await create(result.config,startingConfig(opts,result),416),await create(result.recipientPublic,recipient.publicKey,420),await create(result.recipientSecret,recipient.privateKey,384),await create(result.signingSecret,signing.privateKey,384),await create(result.signingPublic,signing.publicKey,420),result}var create=(path,text,mode)=>createNewFile(path,text,mode,"drctl init never replaces a file (move it away, or edit the config you have)");function startingConfig(opts,files){return`# drd configuration, written by \`drctl init\` on ${opts.now.toISOString().slice(0,10)}.
# config/drd.example.yaml names every option with its default.
# Check it with \`drctl config check\` (add --online to reach servers and buckets).

state_dir: ${opts.stateDir}       # the catalog and the audit trail (0700, owned by the drd user)
timezone: UTC                    # schedules and retention's calendar buckets use this zone

targets:
  local:
    type: local
    path: ${opts.backupDir}       # created 0700
    retention: { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 }
  # A second copy on other media, off this site: the "2" and the "1" of 3-2-1.
  # offsite:
  #   type: s3
  #   bucket: my-backups
  #   endpoint: https://s3.example.net          # omit for AWS
  #   access_key_id_file: ${opts.dir}/s3-access-key-id
  #   secret_access_key_file: ${opts.dir}/s3-secret-access-key
  #   retention: { max_age: 90d }

# Verified copies, media kinds and offsite copies every backup must reach. With only the
# local target this is all it can ask; once offsite is set: { copies: 2, media: 2, offsite: 1 }.
policy: { copies: 1, media: 1, offsite: 0 }

jobs:
  config:
    type: files
    paths: [/etc]
    skip_unreadable: true        # files drd cannot read are skipped and recorded; give drd a group to read them
    encrypt: { recipients: [${files.recipientPublic}] }
    schedule: "0 * * * *"        # cron, in \`timezone\`
    rpo: 1h                      # the newest backup meeting the policy must be younger than this
    targets: [local]
  # database:
  #   type: postgres
  #   connection: postgresql://drd@localhost/app   # no password here: .pgpass or password_file
  #   schedule: "*/15 * * * *"
  #   rpo: 15m
  #   targets: [local]
  #   encrypt: { recipients: [${files.recipientPublic}] }

# Every manifest is signed, so a backup planted in the storage is refused on restore.
signing: { key_file: ${files.signingSecret} }
`}async function initCommand(io,opts){let r=await initialize({dir:opts.dir,stateDir:opts.stateDir,backupDir:opts.backupDir,now:new Date});if(opts.json){let out={config:r.config,recipient:{fingerprint:r.recipientFingerprint,public_key:r.recipientPublic,private_key:r.recipientSecret},signing:{fingerprint:r.signingFingerprint,public_key:r.signingPublic,private_key:r.signingSecret}};return io.out(json(out)),0}return io.out([`wrote ${r.config}: one files job (/etc, hourly, encrypted, signed) to ${opts.backupDir}`,`  ${r.recipientPublic}  the encryption key (${r.recipientFingerprint}); backups are encrypted to it`,`  ${r.signingSecret}  (0600) the manifest signing key (${r.signingFingerprint}); it stays here`,`  ${r.signingPublic}  its public half, for restore and drill hosts (trust: [...])`,`  ${r.recipientSecret}  (0600) the private key that decrypts every backup`].join(`
`)),io.err(`drctl: warning: move ${r.recipientSecret} off this server now: whoever holds it reads every backup, and a server that holds it protects nothing. Keep it with your recovery papers and on the hosts that restore or drill (--key FILE, drill.key_file).`),io.out(["","next:",`  1. move ${r.recipientSecret} off this server (see the warning above)`,`  2. edit ${r.config}: your jobs, and an offsite target for 3-2-1`,`  3. drctl --config ${r.config} config check --online`,"  4. systemctl enable --now drd   (or try one now: drctl backup config)"].join(`
`)),0}export{initCommand};
