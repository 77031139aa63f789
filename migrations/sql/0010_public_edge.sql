-- The public edge: a public identifier apart from the tracking code, and the
-- province whose inbox holds a petition, kept by the database itself.

-- A petition's public identifier (Open311's service_request_id, public
-- links): 16 hex digits, 64 random bits, so ten million of them collide with
-- odds of about one in 400,000 (the unique index refuses that one). It grants
-- nothing: what it opens is the published view.
CREATE OR REPLACE FUNCTION new_public_id() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)
$$;

-- The province of the inbox that holds a petition: the inbox itself when it
-- is a province's queue, else its commune's province. Visibility and counts
-- for provincial staff follow it, so a petition that central staff forward
-- into another province is seen and counted there. Every path that sets the
-- inbox (the submit statement, forwarding, re-placing, re-geotagging, bulk
-- loads) gets it from here.
CREATE OR REPLACE FUNCTION set_assigned_province() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.assigned_area_id IS NULL THEN
    NEW.assigned_province_id := NULL;
  ELSE
    SELECT CASE WHEN a.level = 'province' THEN a.id ELSE a.parent_id END
      INTO NEW.assigned_province_id FROM areas a WHERE a.id = NEW.assigned_area_id;
  END IF;
  RETURN NEW;
END
$$;
