-- geotag() and place() return exactly one row. Without saying so the planner
-- takes a set-returning function for 1,000 rows and joins areas to them by
-- scanning every area (three sequential scans with hash joins on the real
-- 3,321 communes, ~11-14 ms a call); with ROWS 1 it probes areas_pkey.
-- COST in units of cpu_operator_cost: a few GiST probes and one polygon test
-- (~0.05 ms), about as dear as a dozen index scans; place() adds the picked
-- area's lookup.
ALTER FUNCTION geotag(double precision, double precision, double precision, integer) ROWS 1 COST 5000;
ALTER FUNCTION place(double precision, double precision, integer, double precision) ROWS 1 COST 6000;
