-- Ingest: the per-installation secret for participant keys (HMAC of a normalised name), so that
-- attendance can be de-duplicated without storing names. 244 random bits from two v4 UUIDs.
INSERT INTO store_meta
SELECT 'person_key_secret',
       replace(CAST(gen_random_uuid() AS VARCHAR) || CAST(gen_random_uuid() AS VARCHAR), '-', '')
WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = 'person_key_secret');
