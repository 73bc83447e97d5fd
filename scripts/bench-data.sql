-- Mixed, realistic rows for the backup benchmark: words, numbers, timestamps, json, hashes.
-- psql -v rows=N -f scripts/bench-data.sql
CREATE TABLE hosts (id int PRIMARY KEY, fqdn text, os text, registered_at timestamptz, tags jsonb);
INSERT INTO hosts SELECT g, 'host-' || g || '.' || (ARRAY['eu','us','ap'])[1 + g % 3] || '.example.net',
  (ARRAY['Debian 12','Ubuntu 24.04','RHEL 9','FreeBSD 14','Windows Server 2022'])[1 + g % 5],
  now() - (g || ' hours')::interval, jsonb_build_object('rack', g % 40, 'env', (ARRAY['prod','staging','dev'])[1 + g % 3])
FROM generate_series(1, 5000) g;
CREATE TABLE events (id bigint, host_id int, at timestamptz, level text, message text, payload jsonb, digest text);
WITH w AS (SELECT string_to_array('the a disk service started stopped failed restarted update package kernel network interface timeout connection refused user login logout session certificate renewed expired agent heartbeat missed backup completed queue worker job retry scheduled memory cpu load high low warning error info debug port firewall rule added removed config reloaded database vacuum index rebuilt replica lag seconds bytes written read checksum verified mismatch host group policy applied denied allowed token issued revoked', ' ') AS a)
INSERT INTO events
SELECT g, 1 + (g::bigint * 7919) % 5000, now() - ((g % 31536000) || ' seconds')::interval,
  (ARRAY['info','info','info','warn','error','debug'])[1 + (random() * 5)::int],
  a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' ||
  a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' || a[1 + (random() * 63)::int] || ' ' ||
  a[1 + (random() * 63)::int] || ' after ' || (random() * 10000)::int || ' ms',
  jsonb_build_object('pid', (random() * 65535)::int, 'unit', a[1 + (random() * 63)::int] || '.service', 'ok', random() > 0.1),
  md5(g::text)
FROM w, generate_series(1, :rows) g;
