CREATE OR REPLACE FUNCTION place(lon double precision, lat double precision, chosen_id integer,
                                 near_m double precision DEFAULT 2000)
RETURNS TABLE (village_id integer, commune_id integer, province_id integer,
               method text, distance_m double precision, disagrees boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  cv integer; cc integer; cp integer;
  g record;
BEGIN
  IF chosen_id IS NOT NULL THEN
    SELECT CASE a.level WHEN 'village' THEN a.id END,
           CASE a.level WHEN 'village' THEN a.parent_id WHEN 'commune' THEN a.id END,
           CASE a.level WHEN 'village' THEN p.parent_id WHEN 'commune' THEN a.parent_id ELSE a.id END
      INTO cv, cc, cp
      FROM areas a LEFT JOIN areas p ON p.id = a.parent_id WHERE a.id = chosen_id;
  END IF;
  IF lon IS NOT NULL AND lat IS NOT NULL THEN
    SELECT * INTO g FROM geotag(lon, lat, near_m);
    IF g.method <> 'unlocated' THEN
      RETURN QUERY SELECT g.village_id, g.commune_id, g.province_id, g.method, g.distance_m,
        coalesce(cv <> g.village_id, false) OR coalesce(cc <> g.commune_id, false)
          OR coalesce(cp <> g.province_id, false);
      RETURN;
    END IF;
  END IF;
  IF cp IS NOT NULL THEN
    RETURN QUERY SELECT cv, cc, cp, 'chosen'::text, NULL::double precision, false;
  ELSE
    RETURN QUERY SELECT NULL::integer, NULL::integer, NULL::integer, 'unlocated'::text,
                        NULL::double precision, false;
  END IF;
END
$$;
