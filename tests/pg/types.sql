-- tests/pg/types.sql: the table check_pg_types reads back in text and
-- binary format. One column per type, one row per case; the expected JSON
-- of each row, in `ORDER BY id`, is in types.expected. Run in one session
-- (the table is temporary) with TimeZone UTC, DateStyle ISO and
-- IntervalStyle postgres, which check_pg_types sets first.
CREATE TEMP TABLE pg_types (
	id int4 PRIMARY KEY,
	b bool,
	i2 int2,
	i4 int4,
	i8 int8,
	f4 float4,
	f8 float8,
	n numeric,
	t text,
	vc varchar(20),
	by bytea,
	j json,
	jb jsonb,
	u uuid,
	d date,
	ts timestamp,
	tstz timestamptz,
	iv interval,
	ai8 int8[],
	at text[]
);

-- 1: ordinary values
INSERT INTO pg_types VALUES (1, true, 1, 2, 3, 1.5, -0.25, 12345.678,
	'hello', 'world', '\x00ff10',
	'{"a": [1, 2.5, "x"], "b": null}',
	'{"k": {"n": 1}, "arr": [true, false]}',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02',
	'1 day 02:03:04.5', '{1,2,3}', '{a,"b,c","say \"hi\""}');

-- 2: every column NULL
INSERT INTO pg_types (id) VALUES (2);

-- 3: minimums, non-finite values, empty values
INSERT INTO pg_types VALUES (3, false, -32768, -2147483648,
	-9223372036854775808, 'NaN', '-Infinity', 'NaN',
	'', 'héllo ✓', '', '[]', '"just a string"',
	'00000000-0000-0000-0000-000000000000',
	'-infinity', '-infinity', '-infinity',
	'-1 years -2 mons +3 days -00:00:01', '{}', '{NULL,"NULL",""}');

-- 4: maximums, numbers a double cannot hold, escapes
INSERT INTO pg_types VALUES (4, true, 32767, 2147483647,
	9223372036854775807, 'Infinity', 1.7976931348623157e308,
	123456789012345678901234567890.123,
	E'line1\nline2\t"quoted" back\\slash', '', '\xdeadbeef',
	'"\u00e9"', '{"big": 123456789012345678901234567890, "small": 0.5}',
	'ffffffff-ffff-ffff-ffff-ffffffffffff',
	'infinity', 'infinity', 'infinity',
	'0', '{9223372036854775807,-9223372036854775808}',
	'{"back\\slash","{braces}"," spaced "}');

-- 5: decimal fractions, trailing zeros, BC dates, fractional seconds
INSERT INTO pg_types VALUES (5, false, 0, 0, 0, 0.1, 0.1, 22.30,
	'x', 'y', '\x', '{"nested": {"deep": [[1], [2, [3]]]}}', '{}',
	'12345678-1234-5678-1234-567812345678',
	'0044-03-15 BC', '1999-12-31 23:59:59', '1970-01-01 00:00:00.000001+00',
	'3 mons 4 days 00:00:00.25', '{NULL,-1}', '{"a b"}');
