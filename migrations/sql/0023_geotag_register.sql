-- geotag() as in 0001, with one change for the village register (migration 0023):
-- a village without a shape (one listed without a point, or removed from the
-- register) is never the nearest village. Declared ROWS 1 as in 0013.
CREATE OR REPLACE FUNCTION geotag(lon double precision, lat double precision,
                                  near_m double precision DEFAULT 2000, gen integer DEFAULT NULL)
RETURNS TABLE (village_id integer, commune_id integer, province_id integer,
               method text, distance_m double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 COST 5000 AS $$
DECLARE
  pt geometry := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
  v record;
  c record;
BEGIN
  IF gen IS NULL THEN
    SELECT id INTO gen FROM generations WHERE is_current;
  END IF;

  -- 1. The village whose polygon covers the point; on a shared edge the
  --    lowest code wins, every time.
  SELECT a.id, a.parent_id INTO v FROM areas a
  WHERE a.level = 'village' AND a.generation_id = gen AND ST_Covers(a.geom, pt)
  ORDER BY a.code LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT v.id, v.parent_id, p.parent_id, 'inside'::text, NULL::double precision
                 FROM areas p WHERE p.id = v.parent_id;
    RETURN;
  END IF;

  -- 2. The commune that covers it (its villages may not cover it all) …
  SELECT a.id, a.parent_id, 0::double precision AS dist INTO c FROM areas a
  WHERE a.level = 'commune' AND a.generation_id = gen AND ST_Covers(a.geom, pt)
  ORDER BY a.code LIMIT 1;
  -- 3. … else the nearest commune within near_m (GPS drift on a coast or a
  --    river). The degree box pre-filters on the index; geography measures.
  IF NOT FOUND THEN
    SELECT a.id, a.parent_id, ST_Distance(a.geom::geography, pt::geography) AS dist INTO c
    FROM areas a
    WHERE a.level = 'commune' AND a.generation_id = gen
      AND ST_DWithin(a.geom, pt, near_m / (111000 * cos(radians(least(abs(lat), 80)))))
      AND ST_DWithin(a.geom::geography, pt::geography, near_m)
    ORDER BY 3, a.code LIMIT 1;
  END IF;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::integer, NULL::integer, NULL::integer, 'unlocated'::text, NULL::double precision;
    RETURN;
  END IF;

  -- Then the commune's nearest village, if it has any.
  SELECT a.id, ST_Distance(a.geom::geography, pt::geography) AS dist INTO v FROM areas a
  WHERE a.parent_id = c.id AND a.level = 'village' AND a.geom IS NOT NULL
  ORDER BY a.geom <-> pt, a.code LIMIT 1;
  IF v.id IS NULL THEN
    RETURN QUERY SELECT NULL::integer, c.id, c.parent_id,
                        CASE WHEN c.dist = 0 THEN 'inside' ELSE 'nearest' END, NULLIF(c.dist, 0);
  ELSE
    RETURN QUERY SELECT v.id, c.id, c.parent_id, 'nearest'::text, v.dist;
  END IF;
END
$$;
